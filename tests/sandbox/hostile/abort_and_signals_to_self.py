# expect: killed|PermissionError
# raise(SIGKILL) and abort(): signals to itself are refused too; the process may still die.
import os
import signal


def transform(grid):
    signal.raise_signal(signal.SIGSEGV)
    os.abort()
