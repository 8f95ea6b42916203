# expect: PermissionError|FileNotFoundError
# Walk /proc for any process's environ or cmdline (the executor's task file path, its secrets).
import os


def transform(grid):
    for pid in os.listdir("/proc"):
        if pid.isdigit():
            for name in ("environ", "cmdline"):
                with open(f"/proc/{pid}/{name}", "rb") as f:
                    print(f.read())
    return grid
