# expect: PermissionError|ProcessLookupError
# setpriority / sched_setaffinity of other processes raise no audit event.
import os


def transform(grid):
    failures = []
    for call in (lambda: os.setpriority(os.PRIO_PROCESS, os.getppid(), 19),
                 lambda: os.setpriority(os.PRIO_PROCESS, 0, -20),
                 lambda: os.sched_setaffinity(os.getppid(), {0}),
                 lambda: os.sched_setaffinity(0, {0})):
        try:
            call()
        except OSError as exc:
            failures.append(exc)
    if len(failures) == 4:
        raise failures[0]
    return grid
