# expect: timeout
import signal


def transform(grid):
    signal.signal(signal.SIGALRM, signal.SIG_IGN)
    while True:
        pass
