# expect: PermissionError
# Every slot's temp dir belongs to the same sandbox uid and Landlock does not cover modes: without a
# seccomp rule this chmods the neighbours' temp dirs to 000 (and its own), breaking their programs.
import os


def transform(grid):
    root = os.path.dirname(os.getcwd())
    for pid in range(2, 64):
        for n in range(1, 4):
            try:
                os.chmod(f"{root}/{pid}-{n}", 0)
            except FileNotFoundError:
                pass
    os.chmod(os.getcwd(), 0o700)
    os.utime(os.getcwd(), (0, 0))
    return grid
