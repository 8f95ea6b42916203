# expect: killed|ok
# Replace os._exit so that the program's process would fall back into the slot's own code.
import os

os._exit = lambda code: None


def transform(grid):
    return grid
