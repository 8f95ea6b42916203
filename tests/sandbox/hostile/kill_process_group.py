# expect: SandboxViolation
import os
import signal


def transform(grid):
    os.killpg(0, signal.SIGKILL)
    return grid
