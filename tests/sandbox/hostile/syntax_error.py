# expect: syntax
def transform(grid)
    return grid
