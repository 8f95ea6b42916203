# expect: ok|killed
import builtins
import random

import numpy as np

np.flipud = lambda m: "poisoned"
np.zeros = None
random.randint = lambda a, b: 4
builtins.len = lambda x: 0


def transform(grid):
    return grid
