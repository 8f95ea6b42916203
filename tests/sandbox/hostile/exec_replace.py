# expect: SandboxViolation
import os


def transform(grid):
    os.execv("/bin/sh", ["sh", "-c", "touch /tmp/arcfarm-hostile-exec.txt"])
