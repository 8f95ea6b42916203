# expect: PermissionError
def transform(grid):
    with open("/tmp/arcfarm-hostile-write.txt", "w") as f:
        f.write("pwned")
    return grid
