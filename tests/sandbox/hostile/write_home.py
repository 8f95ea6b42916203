# expect: ok|SandboxViolation
import os


def transform(grid):
    # HOME is the worker's private directory: allowed, and wiped after the program.
    with open(os.path.join(os.path.expanduser("~"), "arcfarm-hostile-home.txt"), "w") as f:
        f.write("scratch")
    return grid
