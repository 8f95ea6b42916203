# expect: ok
# Change what later programs would see: class attributes, function defaults, module functions.
import common
import numpy as np
import random

common.Color.RED = 7
common.Color.BLUE = 7
common.flood_fill.__defaults__ = None
np.rot90.__defaults__ = (3, (0, 1))
np.flipud.__code__ = (lambda m: m * 0).__code__
random.seed = lambda *a, **k: None
np.random.seed = lambda *a, **k: None
np.seterr(all="raise")
np.set_printoptions(threshold=1)


def transform(grid):
    return grid
