# expect: ok|timeout|RuntimeError
# Leave behind: a gc callback, interval timers with handlers, and a thread that keeps rewriting
# `common` — each would change a later program's outputs if the process were reused.
import gc
import signal
import threading
import time

import common


def meddle(*_):
    common.Color.RED = 3


gc.callbacks.append(meddle)
signal.signal(signal.SIGPROF, meddle)
signal.signal(signal.SIGVTALRM, meddle)
signal.setitimer(signal.ITIMER_PROF, 0.001, 0.001)
signal.setitimer(signal.ITIMER_VIRTUAL, 0.001, 0.001)


def forever():
    while True:
        common.Color.RED = 4
        time.sleep(0.0001)


threading.Thread(target=forever, daemon=True).start()


def transform(grid):
    return grid
