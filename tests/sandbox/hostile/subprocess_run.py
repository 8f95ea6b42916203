# expect: SandboxViolation
def transform(grid):
    import subprocess
    subprocess.run(["touch", "/tmp/arcfarm-hostile-subprocess.txt"])
    return grid
