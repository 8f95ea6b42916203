# expect: timeout
def transform(grid):
    n = 0
    while True:
        try:
            n += 1
        except:  # noqa: E722 - swallows the soft timeout on purpose
            pass
