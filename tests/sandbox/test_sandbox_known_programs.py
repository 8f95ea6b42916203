"""Programs that solved their tasks before the sandbox was rebuilt still do, under every strict
layer: the committed toy held-out and validation sets (each task with the BARC-style program that
made it, using `common`) are run through the executor and must reproduce every output grid."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from arcfarm.sandbox import Executor, ProgramRun

pytestmark = pytest.mark.slow
DATA = Path(__file__).parents[2] / "data" / "toy"


def test_every_committed_toy_program_still_solves_its_task_in_the_strict_sandbox():
    tasks = [json.loads(line) for name in ("heldout.jsonl", "validation.jsonl")
             for line in (DATA / name).read_text().splitlines() if line.strip()]
    assert len(tasks) >= 200
    pairs = [t["train"] + t["test"] for t in tasks]
    runs = [ProgramRun(t["code"], tuple(np.array(p["input"]) for p in ps)) for t, ps in zip(tasks, pairs)]
    with Executor(workers=2, timeout_s=5.0) as ex:
        assert ex.isolation.level == "strict", ex.isolation.missing
        results = ex.run(runs)
    wrong = [t["id"] for t, ps, r in zip(tasks, pairs, results)
             if not r.ok or not all(np.array_equal(g, np.array(p["output"])) for g, p in zip(r.outputs, ps))]
    assert wrong == []
