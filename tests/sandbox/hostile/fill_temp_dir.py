# expect: OSError|timeout|memory
# Fill the temp dir (a tmpfs in the jail) with as many 16 MB files as it takes.
def transform(grid):
    chunk = b"x" * (16 * 1024 * 1024 - 1)
    for i in range(10_000):
        with open(f"fill-{i}", "wb") as f:
            f.write(chunk)
    return grid
