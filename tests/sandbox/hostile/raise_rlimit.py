# expect: ValueError|PermissionError|memory
# Lift the memory limit (needs a capability the sandbox uid does not have), then allocate.
import resource


def transform(grid):
    resource.setrlimit(resource.RLIMIT_AS, (resource.RLIM_INFINITY, resource.RLIM_INFINITY))
    return bytearray(8 * 1024 ** 3)
