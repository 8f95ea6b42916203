# expect: PermissionError
# Switch the audit hook off from Python (its module state is writable), then open a socket
# and fork: the kernel answers.
import _socket
import os
import sys

for name in list(sys.modules):
    if name.endswith("sandbox.guard"):
        sys.modules[name].FORBIDDEN_EVENTS = frozenset()
        sys.modules[name].FORBIDDEN_PREFIXES = ()


def transform(grid):
    try:
        _socket.socket(_socket.AF_INET, _socket.SOCK_STREAM).connect(("127.0.0.1", 5432))
    except PermissionError:
        pass
    else:
        raise RuntimeError("socket got through")
    pid = os.fork()
    if pid == 0:
        open("/tmp/arcfarm-hostile-fork.txt", "w").write("escaped")
        os._exit(0)
    return grid
