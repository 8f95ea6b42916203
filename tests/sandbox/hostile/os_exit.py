# expect: killed
import os


def transform(grid):
    os._exit(0)
