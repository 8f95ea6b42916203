# expect: SandboxViolation|BlockingIOError|OSError
import os


def transform(grid):
    while True:
        os.fork()
