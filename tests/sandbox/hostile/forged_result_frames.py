# expect: killed|ok
# Write forged result frames to every descriptor it has (one is the result pipe) and leave a
# thread that keeps writing them: the forgeries can only spoil this program's own result.
import os
import struct
import threading


def forged():
    grid = bytes([9] * 4)
    body = b"AFR1" + struct.pack("!H", 1) + b"\x00\x01\x02\x02" + grid
    return body + struct.pack("!I", 0xFFFFFFFF) * 2 + struct.pack("!I", 0)


def spray():
    while True:
        for fd in range(3, 64):
            try:
                os.write(fd, forged())
            except OSError:
                pass


for fd in range(3, 64):
    try:
        os.write(fd, b"\x00\x00\x10\x00" + b"garbage" * 100)
    except OSError:
        pass
threading.Thread(target=spray, daemon=True).start()


def transform(grid):
    return grid
