# expect: ok|SandboxViolation|RuntimeError
import threading


def _spin():
    while True:
        pass


def transform(grid):
    threading.Thread(target=_spin, daemon=True).start()
    return grid
