# expect: ok
def transform(grid):
    try:
        raise ValueError
    except ValueError as exc:
        frame = exc.__traceback__.tb_frame.f_back
        print(frame.f_locals)
    return grid
