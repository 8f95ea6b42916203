# expect: SandboxViolation|PermissionError
# _socket directly (the hook still sees socket.__new__: see guard_switched_off.py for the kernel's answer).
import _socket


def transform(grid):
    s = _socket.socket(_socket.AF_INET, _socket.SOCK_STREAM)
    s.connect(("127.0.0.1", 5432))
    return grid
