# expect: invalid_output
# Rows whose length and iteration change between calls, and an int subclass that lies.
class Shifty(list):
    calls = 0

    def __len__(self):
        Shifty.calls += 1
        return 2 if Shifty.calls % 2 else 40

    def __iter__(self):
        return iter([12, 13])


class BigInt(int):
    def __lt__(self, other):
        return False

    def __gt__(self, other):
        return False


def transform(grid):
    return [Shifty([1, 2]), [BigInt(1000), BigInt(5)]]
