"""Task families: reproducible, validation and test disjoint, valid ARC, solved by their own
programs in the real sandbox, and each family as far from training as it claims."""
from __future__ import annotations

import numpy as np
import pytest
from typer.testing import CliRunner

from arcfarm.sandbox import Executor, ProgramRun
from arcfarm.toy.families import (
    COUNT_RANGES,
    FAMILIES,
    STRETCHES,
    Rejected,
    _needs_new_value,
    family_parts,
    fingerprint,
    write_family,
)
from arcfarm.toy.primitives import compile_helpers
from arcfarm.toy.synth import WITHHELD_PAIRS, load_jsonl

PER_PART = {"validation": 3, "test": 6}


@pytest.fixture(scope="module")
def families():
    return {name: family_parts(name, validation=PER_PART["validation"], test=PER_PART["test"], seed=3)
            for name in FAMILIES}


def _all(families):
    return [t for fam in families.values() for part in fam["parts"].values() for t in part]


def test_every_part_has_its_tasks_and_ids_name_family_and_part(families):
    for name, fam in families.items():
        for part, want in PER_PART.items():
            tasks = fam["parts"][part]
            assert len(tasks) == want, (name, part, fam["stats"][part])
            assert all(t["family"] == name and t["split"] == part for t in tasks)
            assert all(t["id"].startswith(f"toy-{name}-{part}-3-") for t in tasks)


def test_same_seed_same_tasks_other_seed_other_tasks(families):
    again = family_parts("depth4", validation=PER_PART["validation"], test=PER_PART["test"], seed=3)
    assert again["parts"] == families["depth4"]["parts"]
    other = family_parts("depth4", validation=1, test=1, seed=4)
    assert fingerprint(other["parts"]["test"][0]) != fingerprint(families["depth4"]["parts"]["test"][0])


def test_validation_and_test_are_disjoint(families):
    for name, fam in families.items():
        val, test = fam["parts"]["validation"], fam["parts"]["test"]
        assert not {t["id"] for t in val} & {t["id"] for t in test}, name
        assert not {fingerprint(t) for t in val} & {fingerprint(t) for t in test}, name
        assert len({fingerprint(t) for t in val + test}) == len(val + test), name


def test_every_grid_is_valid_arc(families):
    for t in _all(families):
        assert 2 <= len(t["train"]) <= 4 and len(t["test"]) == 1, t["id"]
        for pair in t["train"] + t["test"]:
            for key in ("input", "output"):
                grid = np.array(pair[key])
                assert grid.ndim == 2 and 1 <= grid.shape[0] <= 30 and 1 <= grid.shape[1] <= 30, t["id"]
                assert grid.dtype.kind == "i" and grid.min() >= 0 and grid.max() <= 9, t["id"]


def test_each_task_is_solved_by_its_program_in_the_sandbox(families):
    tasks = _all(families)
    runs = [ProgramRun(t["code"], tuple(np.array(p["input"]) for p in t["train"] + t["test"])) for t in tasks]
    with Executor(workers=2, timeout_s=5.0) as ex:
        results = ex.run(runs)
    for t, res in zip(tasks, results):
        assert res.ok, (t["id"], res.error, res.message)
        expected = [np.array(p["output"]) for p in t["train"] + t["test"]]
        assert all(np.array_equal(g, e) for g, e in zip(res.outputs, expected)), t["id"]


def test_near_families_use_held_out_compositions_and_depth_four(families):
    for t in _all({"x": families["in_distribution"]}):
        names = tuple(s["name"] for s in t["steps"])
        assert len(names) == 3 or names in WITHHELD_PAIRS, t["id"]
    assert all(t["depth"] == 4 for t in _all({"x": families["depth4"]}))


# In-range values of each stretched parameter (primitives.py): the family must use others.
TRAINED = {"shift": ("steps", {1, 2}), "scale_up": ("factor", {2, 3}), "remove_noise": ("max_size", {1, 2}),
           "recolor_by_size": ("threshold", {3, 4, 5})}


def test_out_of_range_first_step_uses_a_value_training_never_did(families):
    for t in _all({"x": families["out_of_range"]}):
        first = t["steps"][0]
        assert t["family_detail"]["stretched"] == first["name"] and t["depth"] in (1, 2)
        if first["name"] == "tile":
            shape = (first["params"]["rows"], first["params"]["cols"])
            assert shape not in {(1, 2), (2, 1), (2, 2), (1, 3), (3, 1)}, t["id"]
        else:
            key, trained = TRAINED[first["name"]]
            assert first["params"][key] not in trained, t["id"]


def test_a_task_an_in_range_value_solves_is_rejected():
    # shift right by 3 on width 5 is shift left by 2: it belongs to training, not the family
    helpers = compile_helpers()
    grids = [np.array([[1, 0, 0, 0, 0], [0, 2, 0, 0, 0]]), np.array([[0, 0, 3, 0, 4]])]
    params = {"direction": "right", "steps": 3}
    task = {"steps": [{"name": "shift", "params": params}],
            "train": [{"input": g.tolist(), "output": helpers["shift"](g, **params).tolist()} for g in grids[:1]],
            "test": [{"input": g.tolist(), "output": helpers["shift"](g, **params).tolist()} for g in grids[1:]]}
    shift = next(s for s in STRETCHES if s.name == "shift")
    with pytest.raises(Rejected, match="in_range_equivalent"):
        _needs_new_value(shift)(task, helpers)
    wide = [np.zeros((2, 9), dtype=np.int64)]
    wide[0][0, 0] = 5
    task["train"] = task["test"] = [{"input": wide[0].tolist(), "output": helpers["shift"](wide[0], **params).tolist()}]
    _needs_new_value(shift)(task, helpers)  # on width 9 no in-range shift matches: kept


def test_count_extrapolation_needs_more_than_training_showed(families):
    for t in _all({"x": families["count_extrapolation"]}):
        detail, (step,) = t["family_detail"], t["steps"]
        lo, hi = COUNT_RANGES[detail["counted"]]
        assert step["name"] == detail["counted"] and lo <= detail["n"] <= hi, t["id"]
        if step["name"] == "tile":
            assert max(step["params"]["rows"], step["params"]["cols"]) == detail["n"] >= 4
        elif step["name"] == "scale_up":
            assert step["params"]["factor"] == detail["n"] >= 5
        else:  # one output pixel per object, at least 16 objects in every grid
            widths = [len(p["output"][0]) for p in t["train"] + t["test"]]
            assert min(widths) >= 16 and max(widths) == detail["n"], t["id"]


def test_write_family_files_reload_and_training_refuses_them(tmp_path):
    from arcfarm.toy.train import load_tasks

    summary = write_family("out_of_range", tmp_path, validation=1, test=2, seed=5)
    assert summary["files"]["test"]["tasks"] == 2
    test = load_jsonl(tmp_path / "out_of_range.test.jsonl")
    assert [t["split"] for t in test] == ["test", "test"] and test[0]["id"].startswith("toy-out_of_range-test-5-")
    with pytest.raises(ValueError, match="no training tasks"):
        load_tasks(tmp_path / "out_of_range.test.jsonl")


def test_cli_writes_a_family_and_names_an_unknown_one(tmp_path):
    from arcfarm.cli.main import app

    runner = CliRunner()
    ok = runner.invoke(app, ["toy", "synth", "--family", "depth4", "--n", "1", "--validation", "1",
                             "--out", str(tmp_path)])
    assert ok.exit_code == 0, ok.output
    assert len(load_jsonl(tmp_path / "depth4.test.jsonl")) == 1
    bad = runner.invoke(app, ["toy", "synth", "--family", "depth5", "--n", "1", "--out", str(tmp_path)])
    assert bad.exit_code == 2 and "unknown family 'depth5'" in bad.output


def test_committed_family_files_are_what_the_generator_writes(tmp_path):
    """data/toy/families holds the seed-0 parts; regenerating them reproduces them byte for byte."""
    from pathlib import Path

    committed = Path(__file__).resolve().parents[2] / "data" / "toy" / "families"
    for name in FAMILIES:
        sizes = {part: len(load_jsonl(committed / f"{name}.{part}.jsonl")) for part in ("validation", "test")}
        assert sizes["test"] >= 48, name
        write_family(name, tmp_path, validation=sizes["validation"], test=sizes["test"], seed=0)
        for part in sizes:
            file = f"{name}.{part}.jsonl"
            assert (tmp_path / file).read_text() == (committed / file).read_text(), file


def test_bad_counts_and_names_are_refused():
    with pytest.raises(ValueError, match="unknown family"):
        family_parts("nope", validation=1, test=1, seed=0)
    with pytest.raises(ValueError, match="validation=-1"):
        family_parts("depth4", validation=-1, test=1, seed=0)
