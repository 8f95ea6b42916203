# expect: SandboxViolation
import os


def transform(grid):
    os.kill(os.getppid(), 9)
    return grid
