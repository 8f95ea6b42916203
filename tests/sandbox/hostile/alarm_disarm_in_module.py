# expect: timeout
import signal

signal.setitimer(signal.ITIMER_REAL, 0)
signal.alarm(0)


def transform(grid):
    x = 0
    while True:
        x = (x + 1) % 7
