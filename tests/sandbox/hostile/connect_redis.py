# expect: SandboxViolation
def transform(grid):
    import socket
    s = socket.socket()
    s.connect(("127.0.0.1", 6379))
    s.sendall(b"FLUSHALL\r\n")
    return grid
