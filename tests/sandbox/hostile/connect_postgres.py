# expect: SandboxViolation
import socket


def transform(grid):
    socket.create_connection(("127.0.0.1", 5432), timeout=1).sendall(b"hi")
    return grid
