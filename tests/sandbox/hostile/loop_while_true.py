# expect: timeout
def transform(grid):
    while True:
        pass
