# expect: PermissionError|FileNotFoundError
# /proc/self/fd and /proc/self/mem: other descriptors, and writing its own memory by path.
import os


def transform(grid):
    print(os.listdir("/proc/self/fd"))
    with open("/proc/self/mem", "r+b") as f:
        f.seek(id(grid))
        f.write(b"\0" * 8)
    return grid
