"""What the run page does to task_results rows before they are drawn: filter, sort, and the
two curves of a run (tasks solved by epoch; tasks with a right program by predictions spent)."""
from __future__ import annotations

from typing import Any

FILTERS = {
    "all": "all tasks",
    "solved": "solved",
    "after_learning": "solved only after learning",
    "unsolved": "not solved",
    "failed": "failed",
}
SORT_KEYS = ("task_id", "status", "epochs_run", "predictions", "first_solved_epoch", "passes_train",
             "score", "seconds")


def filter_tasks(rows: list[dict[str, Any]], show: str) -> list[dict[str, Any]]:
    """`solved`: score 1; `after_learning`: the first right program came after epoch 0."""
    keep = {
        "all": lambda r: True,
        "solved": lambda r: r["score"] == 1,
        "after_learning": lambda r: (r["first_solved_epoch"] or 0) > 0,
        "unsolved": lambda r: r["score"] != 1,
        "failed": lambda r: r["status"] == "failed",
    }[show]
    return [r for r in rows if keep(r)]


def sort_tasks(rows: list[dict[str, Any]], key: str, descending: bool) -> list[dict[str, Any]]:
    """By one column; rows without a value go last either way."""
    present = [r for r in rows if r[key] is not None]
    missing = [r for r in rows if r[key] is None]
    return sorted(present, key=lambda r: (r[key], r["task_id"]), reverse=descending) + missing


def solved_by_epoch(rows: list[dict[str, Any]]) -> list[int]:
    """Tasks with a test-correct program by the end of each epoch (cumulative), epoch 0 first."""
    last = max((r["epochs_run"] for r in rows), default=0)
    firsts = [r["first_solved_epoch"] for r in rows if r["first_solved_epoch"] is not None]
    return [sum(1 for f in firsts if f <= epoch) for epoch in range(max(last, 1))]


def pass_at_n(first_correct: dict[str, int], budget: int) -> list[tuple[int, int]]:
    """(predictions spent, tasks with a right program among their first that many) at every
    step of the curve, from 0 to `budget`: the search-and-learn figure of merit."""
    spent = sorted(index + 1 for index in first_correct.values())
    points, found = [(0, 0)], 0
    for n in spent:
        found += 1
        points.append((n, found))
    points.append((max(budget, spent[-1] if spent else 0), found))
    return points
