# expect: EOFError
def transform(grid):
    line = input()
    return grid
