# expect: killed
import os


def transform(grid):
    os.closerange(3, 1024)
    return grid
