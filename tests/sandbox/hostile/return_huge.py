# expect: invalid_output
import numpy as np


def transform(grid):
    return np.zeros((5000, 5000), dtype=np.int64)
