"""`arcfarm bench learn-history`'s arithmetic: pass rates per run kind and the paired per-task
difference adapter - control, averaged over seeds, on hand-made results. (The bench itself runs
the farm; at its smallest size it took minutes on the shared 2-core machine, too long for CI.)"""
from __future__ import annotations

from arcfarm.bench.learn_history_bench import summarize


def _runs(**tasks):
    """t=(pass_n, pass_2) -> the bench's per-task rows."""
    return {t: {"pass_n": n, "pass_2": two} for t, (n, two) in tasks.items()}


def _seed(b_adapter, b_control, u_adapter, u_control):
    return {"A": _runs(x=(True, True), y=(False, False)), "B_adapter": _runs(**b_adapter),
            "B_control": _runs(**b_control), "U_adapter": _runs(**u_adapter),
            "U_control": _runs(**u_control)}


def test_paired_differences_and_rates():
    seeds = [
        _seed({"x": (True, True), "y": (True, False)}, {"x": (True, True), "y": (False, False)},
              {"z": (False, False)}, {"z": (True, True)}),
        _seed({"x": (True, False), "y": (False, False)}, {"x": (True, True), "y": (False, False)},
              {"z": (False, False)}, {"z": (False, False)}),
    ]
    s = summarize(seeds)
    assert s["A.pass_n"] == {"per_seed": [0.5, 0.5], "mean": 0.5}
    assert s["B_adapter.pass_n"]["per_seed"] == [1.0, 0.5]
    # pass@n: y is better with the adapter in seed 0, equal in seed 1 -> +0.5 on y, 0 on x.
    assert s["B.paired.pass_n"] == {"mean_difference": 0.25, "tasks_better": 1, "tasks_worse": 0}
    # pass@2: x lost its second attempt in seed 1 -> -0.5 on x.
    assert s["B.paired.pass_2"] == {"mean_difference": -0.25, "tasks_better": 0, "tasks_worse": 1}
    assert s["U.paired.pass_n"] == {"mean_difference": -0.5, "tasks_better": 0, "tasks_worse": 1}
