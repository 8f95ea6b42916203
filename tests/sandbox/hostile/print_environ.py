# expect: ok
import os


def transform(grid):
    print(dict(os.environ))
    print(os.environ.get("ARCFARM_DATABASE_URL"))
    return grid
