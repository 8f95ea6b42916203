# expect: PermissionError|FileNotFoundError
# Links made inside the temp dir that point outside it: the rules follow the target.
import os


def transform(grid):
    os.symlink("/tmp/arcfarm-hostile-planted/marker.txt", "via-symlink")
    try:
        os.link("/tmp/arcfarm-hostile-planted/marker.txt", "via-hardlink")
    except OSError:
        pass
    for name in ("via-symlink", "via-hardlink"):
        if os.path.lexists(name):
            print(open(name).read())
    return grid
