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


def _result(runs, *, budget=8, temperature=1.0, commit="abc", planned=TASKS, learning_arm="best",
            lora_rank=16, best_lr=1e-4, families=None, date="2026-12-03", new_format=True, learning=True,
            exec_workers=1, val_tasks=0):
    return {"purpose": "p", "learning_arm": learning_arm, "validation": {"chosen": learning_arm},
            "arms": {"learning-off": {"learning": False}, "best": {"learning_rate": best_lr}},
            "test_tasks": {"f": planned}, "not_run": {}, "runs": runs,
            "settings": {"budget": budget, "families": families or {"f": "f.jsonl"}, "val_tasks": val_tasks,
                         "experiment_config": {"temperature": temperature, "model": "m", "seed": 0,
                                               "lora_rank": lora_rank, "learning_rate": 1e-3,
                                               "learning": learning, "exec_workers": exec_workers},
                         **({"experiment_config_scope": "experiment"} if new_format else {})},
            "gpu": "G", "cpu": "C", "cpus": 16, "commit": commit, "date": date, "seconds": 10.0}


def _solved(arm, seed, task):
    # learning solves t0 and t1 in every seed; learning-off only t0
    return task == "t0" or (arm == "best" and task == "t1")


def _all(seeds):
    return [_run(a, s, t, _solved(a, s, t)) for s in seeds for a in ARMS for t in TASKS]


def test_two_calls_are_tabled_as_one_experiment():
    runs = _all([0, 1])
    validation_run = {**runs[0], "phase": "validation", "seed": 100}
    merged = merge([("a.json", _result(runs[:5] + [validation_run], families={"f": "f.jsonl", "g": "g.jsonl"})),
                    ("b.json", _result(runs[5:], commit="def", date="2026-12-04"))])
    fam = merged["families"]["f"]
    assert fam["seeds"] == [0, 1] and fam["n_tasks"] == 4
    assert fam["arms"]["best"]["pass_at_n"] == [0.5, 0.5]
    assert fam["arms"]["learning-off"]["pass_at_n"] == [0.25, 0.25]
    assert fam["learning_minus_off"]["per_seed"] == [0.25, 0.25]
    assert fam["ci95_learning_minus_off"][0] >= 0.0
    assert fam["minus_off"]["best"]["ci95"] == fam["ci95_learning_minus_off"]  # every arm vs off, one key
    assert set(fam["minus_off"]) == {"best"}
    assert [m["test_runs"] for m in merged["merged_from"]] == [5, 11]
    assert merged["commit"] == "several: see merged_from" and len(merged["runs"]) == 16
    assert merged["not_run"] == {}
    assert merged["seconds"] == 20.0 and merged["date"] == "2026-12-04"
    assert merged["settings"]["families"] == {"f": "f.jsonl", "g": "g.jsonl"}
    assert not any(r["phase"] == "validation" for r in merged["runs"])


@pytest.mark.parametrize("arm", ARMS)
def test_a_seed_missing_one_run_of_any_arm_is_not_whole(arm):
    runs = [r for r in _all([0, 1]) if not (r["seed"] == 1 and r["task"] == "t3" and r["arm"] == arm)]
    assert merge([("a.json", _result(runs))])["families"]["f"]["seeds"] == [0]


def test_a_planned_task_no_arm_ran_keeps_the_seed_from_being_whole():
    """The plan (`test_tasks`) tells a seed cut short from a whole one, even for a checkpoint."""
    runs = [r for r in _all([0]) if r["task"] != "t3"]
    checkpoint = {**_result(runs), "partial": True}
    merged = merge([("a.partial.json", checkpoint)])
    assert merged["not_run"]["f"]["partial_seed"] == 0 and merged["families"]["f"]["n_tasks"] == 3
    assert merged["merged_from"][0]["checkpoint"] is True
    again = merge([("merged.json", merged)])  # a merged result keeps its plan when merged again
    assert again["not_run"]["f"]["tasks_not_reported"] == ["t3"]


def test_partial_seeds_that_tie_report_the_lowest():
    runs = [r for r in _all([0, 1]) if r["task"] != ("t3" if r["seed"] == 0 else "t2")]
    assert merge([("a.json", _result(runs))])["families"]["f"]["seeds"] == [0]

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


def test_a_run_recorded_twice_is_refused_naming_both_places():
    runs = _all([0])
    with pytest.raises(ValueError, match="recorded twice: in a.json and in b.json"):
        merge([("a.json", _result(runs)), ("b.json", _result(runs[:1]))])
    with pytest.raises(ValueError, match="recorded twice: in a.json and in a.json"):
        merge([("a.json", _result(runs + runs[:1]))])


@pytest.mark.parametrize("change, key", [({"budget": 16}, "budget"), ({"temperature": 0.5}, "temperature"),
                                         ({"learning": False}, "learning"), ({"val_tasks": 16}, "val_tasks"),
                                         ({"learning_arm": "other"}, "learning_arm"),
                                         ({"lora_rank": 32}, "lora_rank"), ({"best_lr": 1e-3}, "arm best"),
                                         ({"families": {"f": "other.jsonl"}}, "family f")])
def test_sources_that_are_not_one_experiment_are_refused(change, key):
    with pytest.raises(ValueError, match=f"{key} is .* not one experiment"):
        merge([("a.json", _result(_all([0]))), ("b.json", _result(_all([1]), **change))])


def test_what_may_differ_between_calls_of_one_experiment():
    """Older results recorded the first arm's config (here learning-off's `learning: false`); a
    call on a machine with other cores derives another exec_workers; an arm one call added keeps
    its settings."""
    old = _result(_all([0]), new_format=False, learning=False)
    new = _result(_all([1]), exec_workers=8)
    new["arms"]["sampling-only"] = {"initial_predictions": 8}
    merged = merge([("old.json", old), ("new.json", new)])
    assert merged["families"]["f"]["seeds"] == [0, 1]
    assert set(merged["arms"]) == {"learning-off", "best", "sampling-only"}
    assert [m["exec_workers"] for m in merged["merged_from"]] == [1, 8]
    # the settings carry the experiment's own config, not the older call's first arm's
    assert merged["settings"]["experiment_config"]["learning"] is True
    assert merged["settings"]["experiment_config_scope"] == "experiment"


def test_without_the_experiments_own_config_the_merge_says_whose_it_is():
    merged = merge([("a.json", _result(_all([0]), new_format=False, learning=False)),
                    ("b.json", _result(_all([1]), new_format=False, learning=False))])
    assert merged["settings"]["experiment_config_scope"].startswith("first test arm")


def test_a_merged_result_merged_again_keeps_its_sources():
    merged = merge([("a.json", _result(_all([0]))), ("b.json", _result(_all([1])))])
    again = merge([("m.json", merged), ("c.json", _result(_all([2])))])
    assert again["families"]["f"]["seeds"] == [0, 1, 2]
    assert [m["path"] for m in again["merged_from"][0]["merged_from"]] == ["a.json", "b.json"]


def test_an_old_checkpoint_without_its_settings_is_refused():
    with pytest.raises(ValueError, match="not a science result"):
        merge([("a.partial.json", {"partial": True, "runs": _all([0])})])


@pytest.mark.parametrize("spoil, message", [
    (lambda r: r["runs"][0].pop("task"), "run 0 has no valid 'task'"),
    (lambda r: r["runs"][1].update(seed="1"), "run 1 has no valid 'seed'"),
    (lambda r: r["runs"][2].update(first_correct="x"), "run 2 has no valid 'first_correct'"),
    (lambda r: r.update(runs={"a": 1}), "runs is not a list"),
    (lambda r: r.update(learning_arm=None), "the learning arm was not chosen yet"),
    (lambda r: r["settings"].pop("budget"), "lack the budget"),
    (lambda r: r.update(runs=[]), "no test runs"),
    (lambda r: r.update(validation=None), "validation is not a dict"),
    (lambda r: r["arms"].update(best=None), "an arm's settings are not a mapping"),
    (lambda r: r["runs"][0].update(cpu_s="1"), "run 0 has no valid 'cpu_s'"),
    (lambda r: r["runs"][0].update(new_outputs_per_epoch=["x"]), "run 0 has no valid 'new_outputs_per_epoch'"),
    (lambda r: r["runs"][0].update(seed=True), "run 0 has no valid 'seed'"),
])
def test_a_spoilt_source_is_refused_by_name(spoil, message):
    res = _result(_all([0]))
    spoil(res)
    with pytest.raises(ValueError, match=message):
        merge([("a.json", res)])


def test_the_cli_merges_and_names_a_bad_source(tmp_path):
    a, b, out = tmp_path / "a.json", tmp_path / "b.json", tmp_path / "m.json"
    a.write_text(json.dumps(_result(_all([0]))))
    b.write_text("{not json")
    bad = CliRunner().invoke(app, ["bench", "science-merge", str(a), str(b), "--out", str(out)])
    assert bad.exit_code == 2 and "b.json" in bad.output and not out.exists()
    b.write_bytes(b"\xff\xfe{")
    bad = CliRunner().invoke(app, ["bench", "science-merge", str(a), str(b), "--out", str(out)])
    assert bad.exit_code == 2 and "b.json" in bad.output and not out.exists()
    b.write_text(json.dumps(_result(_all([1]))))
    ok = CliRunner().invoke(app, ["bench", "science-merge", str(a), str(b), "--out", str(out),
                                  "--plots", str(tmp_path / "plots")])
    assert ok.exit_code == 0, ok.output
    merged = json.loads(out.read_text())
    assert merged["families"]["f"]["seeds"] == [0, 1] and merged["plots"]["f"]


def test_every_arm_gets_its_paired_difference_with_learning_off():
    # a third arm solves every task in seed 0 and only t0 in seed 1; learning-off solves t0 only
    other = [_run("other", s, t, s == 0 or t == "t0") for s in (0, 1) for t in TASKS]
    result = _result(_all([0, 1]) + other)
    result["arms"]["other"] = {"learning_rate": 1e-3}
    fam = merge([("a.json", result)])["families"]["f"]
    assert set(fam["minus_off"]) == {"best", "other"}
    assert fam["minus_off"]["other"]["per_seed"] == [0.75, 0.0]
    assert fam["minus_off"]["other"]["pass_at_n_mean"] == 0.375
    assert fam["minus_off"]["best"]["per_seed"] == [0.25, 0.25]
    low, high = fam["minus_off"]["other"]["ci95"]
    assert 0.0 <= low <= 0.375 <= high <= 0.5  # per task: +0.5 on t1..t3, 0 on t0
