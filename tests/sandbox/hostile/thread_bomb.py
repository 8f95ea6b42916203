# expect: RuntimeError
# Threads would let one program use every core until its deadline.
import threading


def spin():
    while True:
        pass


def transform(grid):
    for _ in range(64):
        threading.Thread(target=spin, daemon=True).start()
    return grid
