# expect: PermissionError|FileNotFoundError
import os


def transform(grid):
    with open(f"/proc/{os.getppid()}/environ", "rb") as f:
        print(f.read())
    return grid
