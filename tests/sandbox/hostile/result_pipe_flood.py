# expect: killed|timeout
# Flood every descriptor (the result pipe among them) with more than a result may hold.
import os


def transform(grid):
    block = b"\x00" * 65536
    for fd in range(3, 64):
        try:
            for _ in range(40):
                os.write(fd, block)
        except OSError:
            pass
    return grid
