# expect: PermissionError|OSError
# _posixsubprocess.fork_exec raises no audit event.
import _posixsubprocess
import os


def transform(grid):
    r, w = os.pipe()
    _posixsubprocess.fork_exec(  # Python 3.11's 23 arguments, as subprocess.Popen passes them
        [b"/bin/sh", b"-c", b"touch /tmp/arcfarm-hostile-forkexec.txt"], [b"/bin/sh"], True, (), None, None,
        -1, -1, -1, -1, -1, -1, r, w, True, False, -1, None, None, None, -1, None, True)
    return grid
