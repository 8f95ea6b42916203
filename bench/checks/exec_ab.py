"""Runs/s of one executor on trivial programs or on the exec bench's mix, for A/B runs of two
checkouts of the sandbox, alternated by the caller (absolute rates on the shared dev VM move more
between runs than the difference being measured):

    for i in 1 2 3; do for t in /work/main /work/other; do
        (cd $t && PYTHONPATH=$t python bench/checks/exec_ab.py trivial $t); done; done

Prints the label and the rate of each of `ROUNDS` batches after a warm-up.
"""
from __future__ import annotations

import os
import sys
import time

import numpy as np

from arcfarm.bench.exec_bench import load_tasks
from arcfarm.bench.exec_programs import MIX
from arcfarm.sandbox import Executor, ProgramRun

ROUNDS = {"trivial": 3, "mix": 2}
WARM_UP = {"trivial": 200, "mix": 100}


def programs(kind: str) -> list[ProgramRun]:
    if kind == "trivial":
        grid = np.random.default_rng(0).integers(0, 10, (10, 10))
        return [ProgramRun("def transform(grid):\n    return grid[::-1]\n", (grid,) * 3)] * 1500
    return [ProgramRun(code, inputs) for inputs in load_tasks(60) for code in MIX.values()]


def main(kind: str, label: str) -> None:
    runs = programs(kind)
    with Executor(workers=2, timeout_s=2.0) as ex:
        ex.run(runs[:WARM_UP[kind]])
        rates = []
        for _ in range(ROUNDS[kind]):
            start = time.perf_counter()
            ex.run(runs)
            rates.append(round(len(runs) / (time.perf_counter() - start), 1))
    print(label, kind, rates, "load", round(os.getloadavg()[0], 2))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
