# expect: PermissionError|OSError
# Hard-link a file of the (readable) runtime into the temp dir, then write through the link.
import os
import numpy


def transform(grid):
    os.link(numpy.__file__, "linked.py")
    with open("linked.py", "a") as f:
        f.write("# changed\n")
    return grid
