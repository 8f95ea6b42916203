"""Putting eval results together: task slices (`merge`) and seeds run in separate calls
(`join_seeds`) give the numbers one run over everything would."""
from __future__ import annotations

import pytest

from arcfarm.toy.eval_results import join_seeds, merge


def _result(task_ids, seed, hits):
    """One schedule, one seed; `hits` per task: first correct prediction or None."""
    p2 = [1.0 if h else 0.0 for h in hits]
    return {"n_tasks": len(task_ids), "budget": 8, "seeds": [seed], "task_ids": list(task_ids),
            "seconds": 10.0, "schedules": [{"schedule": "8+0", "pass_at_2": [sum(p2) / len(p2)],
                                             "pass_at_n": [sum(h is not None for h in hits) / len(hits)],
                                             "first_correct": [list(hits)], "seconds": [5.0],
                                             "pass_at_2_tasks": [p2],
                                             "new_outputs_per_epoch_tasks": [[[2] for _ in hits]]}]}


def test_slices_then_seeds_equal_the_whole():
    seed0 = merge([_result(["a", "b"], 0, [1, None]), _result(["c"], 0, [3])])
    seed1 = merge([_result(["a", "b"], 1, [None, None]), _result(["c"], 1, [2])])
    both = join_seeds([seed0, seed1])
    assert both["seeds"] == [0, 1] and both["task_ids"] == ["a", "b", "c"] and both["n_tasks"] == 3
    s = both["schedules"][0]
    assert s["pass_at_n"] == pytest.approx([2 / 3, 1 / 3])
    assert s["first_correct"] == [[1, None, 3], [None, None, 2]]
    assert s["seconds"] == [10.0, 10.0] and both["seconds"] == 40.0
    assert s["new_outputs_per_epoch_tasks"] == [[[2]] * 3, [[2]] * 3] and s["distinct_outputs"] == [2.0, 2.0]


def test_join_refuses_other_tasks_or_a_repeated_seed():
    with pytest.raises(ValueError, match="same tasks"):
        join_seeds([_result(["a"], 0, [1]), _result(["b"], 1, [1])])
    with pytest.raises(ValueError, match="repeat a seed"):
        join_seeds([_result(["a"], 0, [1]), _result(["a"], 0, [1])])
