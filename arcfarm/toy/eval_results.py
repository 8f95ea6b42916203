"""Putting `toy eval` results together: disjoint task slices (`merge`) and seeds run in separate
device calls (`join_seeds`)."""
from __future__ import annotations

from typing import Any

import numpy as np

# A schedule's lists with one entry per seed; in PER_TASK_KEYS each entry is a list over tasks.
PER_TASK_KEYS = ("pass_at_2_tasks", "first_correct", "new_outputs_per_epoch_tasks")
PER_SEED_KEYS = ("pass_at_2", "pass_at_n", "seconds", "distinct_outputs") + PER_TASK_KEYS


def merge(results: list[dict[str, Any]]) -> dict[str, Any]:
    """One result from runs over disjoint task slices with the same seeds (device calls are short)."""
    first = results[0]
    if any(r["seeds"] != first["seeds"] or r["budget"] != first["budget"] for r in results):
        raise ValueError("results to merge must have the same seeds and budget")
    out = {**first, "task_ids": [t for r in results for t in r["task_ids"]],
           "seconds": round(sum(r["seconds"] for r in results), 1), "schedules": []}
    out["n_tasks"] = len(out["task_ids"])
    out.pop("offset", None), out.pop("limit", None)  # the slices' own; the filters are the same for all
    seeds = range(len(first["seeds"]))
    for i, entry in enumerate(first["schedules"]):
        parts = [r["schedules"][i] for r in results]
        merged = {**entry}
        for key in PER_TASK_KEYS:  # per seed, one value per task: the slices' lists end to end
            if key in entry:
                merged[key] = [[x for p in parts for x in p[key][k]] for k in seeds]
        merged["pass_at_2"] = [float(np.mean(x)) for x in merged["pass_at_2_tasks"]]
        merged["pass_at_n"] = [float(np.mean([c is not None for c in x])) for x in merged["first_correct"]]
        merged["seconds"] = [round(sum(p["seconds"][k] for p in parts), 1) for k in seeds]
        if "new_outputs_per_epoch_tasks" in merged:
            merged["distinct_outputs"] = [float(np.mean([sum(t) for t in x]))
                                          for x in merged["new_outputs_per_epoch_tasks"]]
        out["schedules"].append(merged)
    return out


def join_seeds(results: list[dict[str, Any]]) -> dict[str, Any]:
    """One result from runs over the same tasks with different seeds (each seed its own call)."""
    first = results[0]
    seeds = [s for r in results for s in r["seeds"]]
    if len(set(seeds)) != len(seeds):
        raise ValueError(f"results to join repeat a seed: {seeds}")
    for r in results:
        if r["task_ids"] != first["task_ids"] or r["budget"] != first["budget"]:
            raise ValueError("results to join must cover the same tasks with the same budget")
        if [s["schedule"] for s in r["schedules"]] != [s["schedule"] for s in first["schedules"]]:
            raise ValueError("results to join must run the same schedules")
    out = {**first, "seeds": seeds, "seconds": round(sum(r["seconds"] for r in results), 1), "schedules": []}
    for i, entry in enumerate(first["schedules"]):
        joined = {**entry}
        for key in PER_SEED_KEYS:
            if key in entry:
                joined[key] = [x for r in results for x in r["schedules"][i][key]]
        out["schedules"].append(joined)
    return out
