# expect: PermissionError|ProcessLookupError
# pidfd_send_signal and friends raise no audit event: kill the slot (parent), pid 1, and try the rest.
import os
import signal


def transform(grid):
    errors = []
    for pid in (os.getppid(), 1):
        try:
            fd = os.pidfd_open(pid)
            signal.pidfd_send_signal(fd, signal.SIGKILL)
        except OSError as exc:
            errors.append(exc)
    if errors:
        raise errors[0]
    return grid
