# expect: SandboxViolation
import os


def transform(grid):
    os.system("touch /tmp/arcfarm-hostile-system.txt")
    return grid
