# expect: ok
def transform(grid):
    print("x" * 10_000_000)
    for i in range(100_000):
        print(i)
    return grid
