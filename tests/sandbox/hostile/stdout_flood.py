# expect: ok|timeout
# (100,000 prints can take longer than the tests' 1 s limit on a loaded machine)
def transform(grid):
    print("x" * 10_000_000)
    for i in range(100_000):
        print(i)
    return grid
