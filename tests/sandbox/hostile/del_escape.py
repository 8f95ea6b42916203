# expect: ok
import os


class Sleeper:
    def __init__(self):
        self.me = self  # a cycle: freed by the garbage collector, after the program

    def __del__(self):
        os.system("touch /tmp/arcfarm-hostile-del.txt")


def transform(grid):
    Sleeper()
    return grid
