# expect: SystemExit
import sys


def transform(grid):
    sys.exit(0)
