# expect: RecursionError
def down(n):
    return down(n + 1) + 1


def transform(grid):
    return down(0)
