# expect: timeout
# Block the soft timeout's signal, then spin: only the slot's SIGKILL ends it.
import signal


def transform(grid):
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGALRM})
    while True:
        pass
