# expect: PermissionError
def transform(grid):
    print(open("/proc/self/environ").read())
    return grid
