# expect: PermissionError|FileNotFoundError
def transform(grid):
    print(open("/work/main/.env").read())
    return grid
