# expect: killed
import os


def transform(grid):
    for fd in range(3, 64):
        try:
            os.write(fd, b"\x00\x00\x00\x05{{{{{")
        except OSError:
            pass
    return grid
