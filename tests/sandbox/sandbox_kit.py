"""Constants of the sandbox tests: where the planted files are and what they hold, the secrets the
executor's own process holds, and a correct program that checks its process is pristine."""
from __future__ import annotations

import glob
import uuid
from pathlib import Path

import numpy as np

HOSTILE = Path(__file__).parent / "hostile"
PLANTED = Path("/tmp/arcfarm-hostile-planted")
MARKER = f"PLANTED-MARKER-{uuid.uuid4().hex}"
PROTECTED = f"PROTECTED-{uuid.uuid4().hex}"
SOLUTION_SECRET = f"SOLUTION-{uuid.uuid4().hex}"
ENV_SECRETS = {"ARCFARM_DATABASE_URL": f"postgresql://secret-{uuid.uuid4().hex}@db/arcfarm",
               "ARCFARM_API_TOKEN": f"token-{uuid.uuid4().hex}"}
CANARIES = ("/tmp/arcfarm-hostile-*.txt", "/root/arcfarm-hostile-*.txt", "/work/main/arcfarm-hostile-*")
GRIDS = (np.array([[1, 2, 0], [0, 2, 1], [3, 3, 3]]), np.array([[0, 1], [1, 0]]))

# A correct program that fails if anything of an earlier program survived in its process:
# colours, numpy and common functions, their defaults, seeding, sys settings, planted modules.
PRISTINE_CHECK = """from common import *
import decimal, gc, os, random, signal, sys, threading, warnings
import numpy as np

def transform(grid):
    assert Color.RED == 2 and Color.BLUE == 1, (Color.RED, Color.BLUE)
    assert np.flipud(np.array([[1], [2]])).tolist() == [[2], [1]]
    assert np.rot90(np.array([[1, 2]])).tolist() == [[2], [1]]
    assert len([1, 2]) == 2 and np.zeros is not None
    assert random.random() == 0.8444218515250481 and np.random.randint(0, 1000) == 684
    assert sys.getrecursionlimit() >= 1000 and decimal.getcontext().prec == 28
    assert not gc.callbacks and threading.active_count() == 1
    assert signal.getitimer(signal.ITIMER_PROF) == (0.0, 0.0) and not os.listdir(".")
    assert np.geterr()["divide"] == "warn" and not any(f[0] == "error" for f in warnings.filters)
    g = np.zeros((3, 3), dtype=int)
    flood_fill(g, 0, 0, Color.RED)
    return np.flipud(g) + grid[:1, :1] * 0
"""
PRISTINE_OUTPUT = [[2, 2, 2]] * 3


def expected(path: Path) -> set[str]:
    first = path.read_text().splitlines()[0]
    assert first.startswith("# expect: "), f"{path.name} has no expect line"
    return set(first.removeprefix("# expect: ").split("|"))


def canary_files() -> list[str]:
    return [f for pattern in CANARIES for f in glob.glob(pattern)]
