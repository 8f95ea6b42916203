# expect: ok
import common
from common import *


def _broken(*args, **kwargs):
    raise RuntimeError("flood_fill was replaced")


common.flood_fill = _broken
common.Color.BLUE = 7


def transform(grid):
    return grid
