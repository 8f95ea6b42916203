# expect: ok
from common import *

Color.RED = 5


def transform(grid):
    return grid
