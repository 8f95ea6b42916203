# expect: PermissionError|OSError
# Metadata changes outside the temp dir (Landlock has no right for chmod: the uid stops it).
import os
import numpy


def transform(grid):
    for call in (lambda: os.chmod(numpy.__file__, 0o777), lambda: os.chown(numpy.__file__, 65534, 65534),
                 lambda: os.utime(numpy.__file__, (0, 0))):
        call()
    return grid
