"""science_merge: several calls of one experiment tabled as one (no model runs: the results are
built here, so every number below is known)."""
from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from arcfarm.bench.science_merge import merge
from arcfarm.cli.main import app

TASKS = ["t0", "t1", "t2", "t3"]
ARMS = ["learning-off", "best"]


def _run(arm, seed, task, solved):
    return {"phase": "test", "family": "f", "arm": arm, "seed": seed, "task": task,
            "first_correct": 7 if solved else None, "pass_at_2": bool(solved),
            "new_outputs_per_epoch": [3, 1], "seconds": 2.0, "cpu_s": 1.0}


def _result(runs, *, budget=8, temperature=1.0, commit="abc", planned=TASKS):
    return {"purpose": "p", "learning_arm": "best", "validation": {"chosen": "best"}, "arms": {},
            "families": {"f": {"task_ids": planned}}, "not_run": {}, "runs": runs,
            "settings": {"budget": budget, "families": {"f": "f.jsonl"},
                         "experiment_config": {"temperature": temperature, "model": "m"}},
            "gpu": "G", "cpu": "C", "cpus": 16, "commit": commit, "date": "2026-12-03", "seconds": 10.0}


def _solved(arm, seed, task):
    # learning solves t0 and t1 in every seed; learning-off only t0
    return task == "t0" or (arm == "best" and task == "t1")


def _all(seeds):
    return [_run(a, s, t, _solved(a, s, t)) for s in seeds for a in ARMS for t in TASKS]


def test_two_calls_are_tabled_as_one_experiment():
    runs = _all([0, 1])
    merged = merge([("a.json", _result(runs[:5])), ("b.json", _result(runs[5:], commit="def"))])
    fam = merged["families"]["f"]
    assert fam["seeds"] == [0, 1] and fam["n_tasks"] == 4
    assert fam["arms"]["best"]["pass_at_n"] == [0.5, 0.5]
    assert fam["arms"]["learning-off"]["pass_at_n"] == [0.25, 0.25]
    assert fam["learning_minus_off"]["per_seed"] == [0.25, 0.25]
    assert fam["ci95_learning_minus_off"][0] >= 0.0
    assert [m["test_runs"] for m in merged["merged_from"]] == [5, 11]
    assert merged["commit"] == "several: see merged_from" and len(merged["runs"]) == 16
    assert merged["not_run"] == {}


def test_a_seed_cut_short_is_not_reported_beside_whole_ones():
    runs = [r for r in _all([0, 1]) if not (r["seed"] == 1 and r["task"] == "t3" and r["arm"] == "best")]
    merged = merge([("a.json", _result(runs))])
    assert merged["families"]["f"]["seeds"] == [0]
    assert merged["not_run"]["f"]["seeds_not_whole"] == [1]


def test_without_a_whole_seed_the_best_partial_seed_is_reported_on_its_paired_tasks():
    runs = [r for r in _all([0, 1]) if not (r["task"] == "t3" or (r["seed"] == 0 and r["task"] == "t2"))]
    merged = merge([("a.json", _result(runs))])
    fam = merged["families"]["f"]
    assert fam["seeds"] == [1] and fam["task_ids"] == ["t0", "t1", "t2"]
    assert merged["not_run"]["f"]["partial_seed"] == 1
    assert merged["not_run"]["f"]["tasks_not_reported"] == ["t3"]


def test_a_run_in_two_sources_is_refused():
    runs = _all([0])
    with pytest.raises(ValueError, match="also in another source"):
        merge([("a.json", _result(runs)), ("b.json", _result(runs[:1]))])


@pytest.mark.parametrize("change, key", [({"budget": 16}, "budget"), ({"temperature": 0.5}, "temperature")])
def test_sources_that_are_not_one_experiment_are_refused(change, key):
    with pytest.raises(ValueError, match=f"{key} is .* not one experiment"):
        merge([("a.json", _result(_all([0]))), ("b.json", _result(_all([1]), **change))])


def test_a_checkpoint_is_refused_with_the_way_to_continue():
    with pytest.raises(ValueError, match="--skip-runs-in"):
        merge([("a.partial.json", {"partial": True, "runs": _all([0])})])


def test_the_cli_merges_and_names_a_bad_source(tmp_path):
    a, b, out = tmp_path / "a.json", tmp_path / "b.json", tmp_path / "m.json"
    a.write_text(json.dumps(_result(_all([0]))))
    b.write_text("{not json")
    bad = CliRunner().invoke(app, ["bench", "science-merge", str(a), str(b), "--out", str(out)])
    assert bad.exit_code == 2 and "b.json" in bad.output and not out.exists()
    b.write_text(json.dumps(_result(_all([1]))))
    ok = CliRunner().invoke(app, ["bench", "science-merge", str(a), str(b), "--out", str(out),
                                  "--plots", str(tmp_path / "plots")])
    assert ok.exit_code == 0, ok.output
    merged = json.loads(out.read_text())
    assert merged["families"]["f"]["seeds"] == [0, 1] and merged["plots"]["f"]
