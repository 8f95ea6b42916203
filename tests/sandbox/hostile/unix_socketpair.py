# expect: PermissionError|OSError
import _socket


def transform(grid):
    a, b = _socket.socketpair()
    return grid
