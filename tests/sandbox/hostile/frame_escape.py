# expect: ok
import sys


def transform(grid):
    frame = sys._getframe(1)
    print(frame.f_locals)
    return grid
