# expect: killed|RecursionError|memory|timeout
import sys


def down(n):
    return down(n + 1) + 1


def transform(grid):
    sys.setrecursionlimit(10 ** 8)
    return down(0)
