"""Grid and task validation: round trips of random valid tasks, and every single corruption refused
with a TaskError that names the task and the field."""
from __future__ import annotations

import copy
import json
import re

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from arcfarm.arc.grids import TaskError, grid_from_json, grid_to_json
from arcfarm.arc.tasks import Pair, Task, parse_task, task_with_solutions_json


def grids(max_side: int = 6):
    return st.integers(1, max_side).flatmap(lambda h: st.integers(1, max_side).flatmap(
        lambda w: st.lists(st.lists(st.integers(0, 9), min_size=w, max_size=w), min_size=h, max_size=h)))


@st.composite
def task_objs(draw, with_outputs: bool = True):
    train = draw(st.lists(st.fixed_dictionaries({"input": grids(), "output": grids()}), min_size=1, max_size=4))
    test = draw(st.lists(st.fixed_dictionaries({"input": grids(), "output": grids()}), min_size=1, max_size=3))
    if not with_outputs:
        test = [{"input": e["input"]} for e in test]
    return {"train": train, "test": test}


task_ids = st.text("abcdef0123456789", min_size=1, max_size=8)


@settings(max_examples=60, deadline=None)
@given(task_ids, task_objs())
def test_valid_tasks_round_trip(task_id, obj):
    task, solutions = parse_task(task_id, obj)
    assert task.id == task_id
    assert solutions is not None and [grid_to_json(g) for g in solutions] == [e["output"] for e in obj["test"]]
    data = task.to_json()
    assert all("output" not in e for e in data["test"])  # never leaks test outputs
    assert data["train"] == obj["train"]
    again, none = parse_task(task_id, json.loads(json.dumps(data)))
    assert again == task and none is None
    assert again.content_hash() == task.content_hash()
    assert task_with_solutions_json(task, solutions) == obj


# (mutation, expected field path) pairs: each breaks exactly one thing in a valid task.
def _set(path, value):
    def mutate(obj):
        *parents, last = path
        node = obj
        for key in parents:
            node = node[key]
        node[last] = value
    return mutate


CORRUPTIONS = {
    "ragged row": (lambda o: o["train"][0]["input"].append([0] * (len(o["train"][0]["input"][0]) + 1)),
                   "train[0].input"),
    "colour 10": (_set(("test", 0, "input", 0, 0), 10), "test[0].input"),
    "negative colour": (_set(("train", 0, "output", 0, 0), -1), "train[0].output"),
    "zero rows": (_set(("train", 0, "output"), []), "train[0].output"),
    "zero columns": (_set(("test", 0, "input"), [[]]), "test[0].input"),
    "31 rows": (_set(("train", 0, "input"), [[1]] * 31), "train[0].input"),
    "31 columns": (_set(("test", 0, "output"), [[1] * 31]), "test[0].output"),
    "float": (_set(("train", 0, "input", 0, 0), 1.0), "train[0].input"),
    "bool": (_set(("train", 0, "output", 0, 0), True), "train[0].output"),
    "string": (_set(("test", 0, "input", 0, 0), "3"), "test[0].input"),
    "None cell": (_set(("train", 0, "input", 0, 0), None), "train[0].input"),
    "grid not a list": (_set(("train", 0, "input"), "0 1"), "train[0].input"),
    "row not a list": (_set(("train", 0, "input", 0), 5), "train[0].input"),
    "missing output": (lambda o: o["train"][0].pop("output"), "train[0].output"),
    "missing test input": (lambda o: o["test"][0].pop("input"), "test[0].input"),
    "no train pairs": (_set(("train",), []), "train"),
    "no test inputs": (_set(("test",), []), "test"),
    "missing train": (lambda o: o.pop("train"), "train"),
    "missing test": (lambda o: o.pop("test"), "test"),
    "train not a list": (_set(("train",), {}), "train"),
    "pair not an object": (_set(("train", 0), [[0]]), "train[0]"),
}


@settings(max_examples=40, deadline=None)
@given(task_ids, task_objs(), st.sampled_from(sorted(CORRUPTIONS)))
def test_any_single_corruption_names_task_and_field(task_id, obj, which):
    mutate, field = CORRUPTIONS[which]
    bad = copy.deepcopy(obj)
    mutate(bad)
    with pytest.raises(TaskError) as err:
        parse_task(task_id, bad)
    message = str(err.value)
    assert f"task {task_id!r}" in message
    assert re.search(re.escape(field) + r"(:|$)", message), message


def test_error_messages_say_what_is_wrong():
    obj = {"train": [{"input": [[1, 2], [3]], "output": [[1]]}], "test": [{"input": [[1]]}]}
    with pytest.raises(TaskError, match=r"task 'abc': train\[0\]\.input: row 1 has 1 cells, row 0 has 2"):
        parse_task("abc", obj)
    obj["train"][0]["input"] = [[1, 10]]
    with pytest.raises(TaskError, match=r"row 0, column 1: value 10 is outside 0\.\.9"):
        parse_task("abc", obj)
    obj["train"][0]["input"] = [[1, 2.5]]
    with pytest.raises(TaskError, match=r"2\.5 is a float, not an integer"):
        parse_task("abc", obj)
    with pytest.raises(TaskError, match=r"task 'abc': expected an object"):
        parse_task("abc", [obj])


def test_grids_are_read_only_int64():
    task, _ = parse_task("t", {"train": [{"input": [[1, 2]], "output": [[3]]}], "test": [{"input": [[4]]}]})
    grid = task.train[0].input
    assert grid.dtype == np.int64 and grid.shape == (1, 2)
    with pytest.raises(ValueError):
        grid[0, 0] = 5
    assert grid_from_json(np.array([[1, 2]]), "here").tolist() == [[1, 2]]


def test_partial_test_outputs_give_no_solutions_but_are_validated():
    obj = {"train": [{"input": [[1]], "output": [[2]]}], "test": [{"input": [[1]], "output": [[3]]}, {"input": [[2]]}]}
    task, solutions = parse_task("p", obj)
    assert solutions is None and len(task.test_inputs) == 2
    obj["test"][0]["output"] = [[11]]
    with pytest.raises(TaskError, match=r"task 'p': test\[0\]\.output"):
        parse_task("p", obj)


def test_all_inputs_order_and_hash_ignores_id():
    a = np.array([[1]]), np.array([[2]]), np.array([[3]])
    task = Task("x", (Pair(a[0], a[1]),), (a[2],))
    assert [g.tolist() for g in task.all_inputs()] == [[[1]], [[3]]]
    assert Task("y", task.train, task.test_inputs).content_hash() == task.content_hash()
    assert Task("x", (Pair(a[0], a[2]),), (a[2],)).content_hash() != task.content_hash()


def test_task_with_solutions_checks_the_count():
    task, _ = parse_task("s", {"train": [{"input": [[1]], "output": [[2]]}], "test": [{"input": [[1]]}]})
    with pytest.raises(TaskError, match=r"task 's': solutions: 2 grids for 1 test inputs"):
        task_with_solutions_json(task, [np.array([[1]]), np.array([[2]])])
