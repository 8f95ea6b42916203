# expect: ok
# State that lives outside numpy/common: sys settings, stdlib modules, the environment, the cwd,
# files in the temp dir and a module planted there.
import decimal
import os
import sys
import warnings

sys.setrecursionlimit(60)
sys.setswitchinterval(1.0)
decimal.getcontext().prec = 1
warnings.simplefilter("error")
os.environ["PYTHONPATH"] = os.getcwd()
sys.path.insert(0, os.getcwd())
with open("numpy.py", "w") as f:
    f.write("raise ImportError('planted')\n")
with open("common.py", "w") as f:
    f.write("raise ImportError('planted')\n")
os.mkdir("leftover")
try:
    os.chmod("leftover", 0)  # seccomp refuses chmod; without that layer the dir is left mode 000
except PermissionError:
    pass


def transform(grid):
    return grid
