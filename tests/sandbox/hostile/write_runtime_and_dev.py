# expect: PermissionError|OSError|FileNotFoundError
# Write into the readable runtime (site-packages), /dev/shm and /dev/tty.
import os
import numpy


def transform(grid):
    failures = []
    for path in (os.path.join(os.path.dirname(numpy.__file__), "planted.py"), "/dev/shm/arcfarm-hostile",
                 "/dev/tty"):
        try:
            with open(path, "w") as f:
                f.write("x")
        except OSError as exc:
            failures.append(exc)
    if len(failures) != 3:
        raise RuntimeError(f"wrote {3 - len(failures)} of 3")
    raise failures[0]
