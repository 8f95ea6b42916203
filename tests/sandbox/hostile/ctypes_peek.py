# expect: ok|PermissionError
import ctypes


def transform(grid):
    libc = ctypes.CDLL(None)
    libc.system(b"touch /tmp/arcfarm-hostile-ctypes.txt")
    return grid
