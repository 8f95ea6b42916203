# expect: memory
def transform(grid):
    data = [0] * (10 ** 10)
    return grid
