# expect: timeout
def transform(grid):
    while True:
        try:
            while True:
                try:
                    sum(range(1000))
                except BaseException:
                    continue
        except BaseException:
            continue
