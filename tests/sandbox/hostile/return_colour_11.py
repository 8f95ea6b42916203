# expect: invalid_output
def transform(grid):
    out = grid.copy()
    out[0, 0] = 11
    return out
