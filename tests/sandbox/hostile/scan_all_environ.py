# expect: PermissionError
import os


def transform(grid):
    for pid in os.listdir("/proc"):
        try:
            print(open(f"/proc/{pid}/environ").read())
        except FileNotFoundError:
            pass
    return grid
