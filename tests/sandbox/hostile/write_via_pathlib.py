# expect: PermissionError
import pathlib


def transform(grid):
    pathlib.Path("/tmp/arcfarm-hostile-pathlib.txt").write_text("pwned")
    return grid
