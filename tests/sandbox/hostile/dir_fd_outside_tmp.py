# expect: PermissionError|FileNotFoundError
# A directory fd on / and relative names: the planted marker file and /etc/passwd.
import os


def transform(grid):
    root = os.open("/", os.O_RDONLY | os.O_DIRECTORY)
    for name in ("tmp/arcfarm-hostile-planted/marker.txt", "etc/passwd"):
        fd = os.open(name, os.O_RDONLY, dir_fd=root)
        print(os.read(fd, 100000))
    return grid
