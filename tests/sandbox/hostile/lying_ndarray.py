# expect: invalid_output
# An ndarray subclass whose min/max/astype/tobytes lie about colours above 9.
import numpy as np


class Liar(np.ndarray):
    def min(self, *a, **k):
        return 0

    def max(self, *a, **k):
        return 9

    def astype(self, *a, **k):
        return np.zeros(self.shape, dtype=np.uint8)

    def tobytes(self, *a, **k):
        return bytes(self.size)

    def __array__(self, *a, **k):
        return np.zeros(self.shape, dtype=np.int64)


def transform(grid):
    return (grid * 0 + 11).view(Liar)
