"""Synthetic tasks: the RENDERED program text reproduces every output through the real sandbox,
degenerate tasks never get through, and held-out compositions never appear in training."""
from __future__ import annotations

import random

import numpy as np
import pytest

from arcfarm.arc.prompts import extract_code, response_text
from arcfarm.arc.tasks import parse_task
from arcfarm.sandbox import Executor, ProgramRun
from arcfarm.toy.primitives import compile_helpers
from arcfarm.toy.synth import (
    WITHHELD_PAIRS,
    Rejected,
    SynthConfig,
    _verify,
    build_task,
    has_withheld_pair,
    load_jsonl,
    synthesize,
)


def _grids(pairs, key):
    return [np.array(p[key], dtype=np.int64) for p in pairs]


def test_rendered_programs_reproduce_outputs_in_the_sandbox(toy_data):
    records = toy_data["train_tasks"] + toy_data["heldout_tasks"]
    assert len(toy_data["train_tasks"]) == 60 and len(toy_data["heldout_tasks"]) == 20
    runs = [ProgramRun(r["code"], tuple(_grids(r["train"] + r["test"], "input"))) for r in records]
    with Executor(workers=2, timeout_s=5.0) as ex:
        results = ex.run(runs)
    for rec, res in zip(records, results):
        assert res.ok, (rec["id"], res.error, res.message)
        expected = _grids(rec["train"] + rec["test"], "output")
        assert all(np.array_equal(g, e) for g, e in zip(res.outputs, expected)), rec["id"]


def test_tasks_are_well_formed_and_not_degenerate(toy_data):
    for rec in toy_data["train_tasks"] + toy_data["heldout_tasks"]:
        task, solutions = parse_task(rec["id"], rec)
        assert 3 <= len(task.train) <= 4 and len(task.test_inputs) == 1 and solutions is not None
        ins = [p.input for p in task.train] + list(task.test_inputs)
        outs = [p.output for p in task.train] + solutions
        assert not all(i.shape == o.shape and np.array_equal(i, o) for i, o in zip(ins, outs))
        assert not all(o.shape == outs[0].shape and np.array_equal(o, outs[0]) for o in outs)
        assert all(1 <= s <= 30 for g in outs for s in g.shape)
        assert all(2 <= s <= 15 for g in ins for s in g.shape)


def test_programs_are_in_the_barc_response_format(toy_data):
    for rec in toy_data["train_tasks"][:20]:
        code = rec["code"]
        assert code.startswith("from common import *\n\nimport numpy as np\nfrom typing import *\n\n# concepts:\n# ")
        assert "\n# description:\n# In the input you will see " in code
        assert "\ndef transform(input_grid):\n" in code and code.endswith("    return output_grid")
        assert extract_code(response_text(code)) == code.strip()


def test_heldout_compositions_never_appear_in_training(toy_data):
    train = {tuple(s["name"] for s in r["steps"]) for r in toy_data["train_tasks"]}
    held = {tuple(s["name"] for s in r["steps"]) for r in toy_data["heldout_tasks"]}
    assert all(len(c) <= 2 and not has_withheld_pair(list(c)) for c in train)
    assert all(len(c) == 3 or c in WITHHELD_PAIRS for c in held)
    assert not train & held
    assert {len(c) for c in train} == {1, 2}


def test_same_seed_same_file_other_seed_other_tasks(tmp_path, toy_data):
    synthesize(60, tmp_path / "a.jsonl", heldout=0, seed=7, workers=2)
    assert (tmp_path / "a.jsonl").read_text() == toy_data["train"].read_text()
    synthesize(5, tmp_path / "b.jsonl", heldout=0, seed=8)
    assert load_jsonl(tmp_path / "b.jsonl")[0]["train"] != toy_data["train_tasks"][0]["train"]


def test_identity_and_nondeterministic_programs_are_rejected():
    helpers = compile_helpers()
    with pytest.raises(Rejected, match="identity_output"):
        build_task(random.Random(0), ["rotate_clockwise", "rotate_counterclockwise"], helpers, SynthConfig())
    grids = [np.zeros((3, 3), dtype=np.int64)]
    noisy = ("from common import *\nimport numpy as np\n\ndef transform(input_grid):\n"
             "    return np.full((2, 2), random.randint(1, 9))\n")
    expected = [np.full((2, 2), 7)]
    with pytest.raises(Rejected):
        _verify(noisy, grids, expected)
    broken = "def transform(input_grid):\n    return undefined_name\n"
    with pytest.raises(Rejected, match="rendered_error"):
        _verify(broken, grids, expected)
