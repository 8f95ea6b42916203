# expect: PermissionError|FileNotFoundError|ValueError
# Find the task file given to `arcfarm exec` (parent's cmdline, cwd, /tmp) and return its test output.
import glob
import json
import os


def _candidates():
    for pid in [os.getppid(), 1] + [int(p) for p in os.listdir("/proc") if p.isdigit()]:
        try:
            args = open(f"/proc/{pid}/cmdline", "rb").read().split(b"\0")
        except OSError:
            continue
        yield from (a.decode() for a in args if a.endswith(b".json"))
    yield from glob.glob("/tmp/**/*.json", recursive=True)


def transform(grid):
    for path in _candidates():
        try:
            task = json.load(open(path))
            return task["test"][0]["output"]
        except (OSError, ValueError, KeyError, IndexError, TypeError):
            continue
    raise ValueError("no task file found")
