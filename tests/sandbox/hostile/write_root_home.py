# expect: PermissionError|FileNotFoundError
import os


def transform(grid):
    os.open("/root/arcfarm-hostile-root.txt", os.O_WRONLY | os.O_CREAT)
    return grid
