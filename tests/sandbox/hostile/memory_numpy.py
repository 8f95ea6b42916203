# expect: memory
import numpy as np


def transform(grid):
    return np.ones((200_000, 200_000), dtype=np.int64)
