# expect: timeout
import re


def transform(grid):
    re.match(r"(a+)+$", "a" * 64 + "b")
    return grid
