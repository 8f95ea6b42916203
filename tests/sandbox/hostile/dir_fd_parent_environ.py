# expect: PermissionError|FileNotFoundError
# Relative path through a directory fd: /proc/<parent>/environ, where a worker host's secrets live.
import os


def transform(grid):
    proc = os.open("/proc", os.O_RDONLY | os.O_DIRECTORY)
    fd = os.open(f"{os.getppid()}/environ", os.O_RDONLY, dir_fd=proc)
    print(os.read(fd, 100000))
    return grid
