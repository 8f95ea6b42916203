"""Table several `arcfarm bench science` results as one experiment.

A lent GPU gives ten minutes a call, so the test runs of one experiment arrive in several files:
calls cut by their deadline and continued with `--skip-runs-in`, later seeds with `--seed-from`,
and the `.partial.json` checkpoint of a call killed before it could write its result. `merge`
takes the union of their test runs and tables each family again, as one call would have: a seed
is reported when every arm finished every planned test task of the family in it. When no seed is
whole, the seed with the most tasks that every arm finished is reported on those tasks alone, and
says so (`not_run[family].partial_seed`). The sources must agree on everything that makes runs
comparable (budget, the learning arm and its settings, the choice, the experiment's settings, the
families' files); a run recorded twice is refused rather than counted twice.

    python3 -m arcfarm.bench.science_merge a.json b.partial.json --out bench/results/science-v2.json \
        --plots bench/results/science-v2
"""
from __future__ import annotations

import json
from numbers import Real
from pathlib import Path
from typing import Any

from arcfarm.bench.science import _family, add_plots

_RUN_TYPES = {"family": str, "arm": str, "seed": int, "task": str, "pass_at_2": Real,
              "new_outputs_per_epoch": list, "seconds": Real}


def merge(sources: list[tuple[str, dict[str, Any]]]) -> dict[str, Any]:
    """`sources`: (path, result) pairs, results or checkpoints written by `science.run`."""
    if not sources:
        raise ValueError("nothing to merge")
    for path, res in sources:
        _check_source(path, res)
    first_path, first = sources[0]
    for path, res in sources[1:]:
        _check_same(first_path, first, path, res)
    results: dict[tuple, dict[str, Any]] = {}
    where: dict[tuple, str] = {}
    for path, res in sources:
        for r in res["runs"]:
            if r["phase"] != "test":
                continue
            key = ("test", r["family"], r["arm"], r["seed"], r["task"])
            if key in results:
                raise ValueError(f"run {key[1:]} is recorded twice: in {where[key]} and in {path}")
            results[key], where[key] = r, path
    if not results:
        raise ValueError("no test runs in " + ", ".join(p for p, _ in sources))
    learning_arm, budget = first["learning_arm"], first["settings"]["budget"]
    families, not_run, plan = {}, {}, {}
    for fam in sorted({k[1] for k in results}):
        universe = plan[fam] = _test_tasks(sources, fam, results)
        arms = sorted({k[2] for k in results if k[1] == fam})
        seeds = sorted({k[3] for k in results if k[1] == fam})
        paired = {s: [t for t in universe if all(("test", fam, a, s, t) in results for a in arms)]
                  for s in seeds}
        whole = [s for s in seeds if len(paired[s]) == len(universe)]
        partial_seed = None
        if whole:
            ids = universe
        else:  # the seed with the most tasks every arm finished (the lowest seed on a tie)
            partial_seed = max(seeds, key=lambda s: (len(paired[s]), -s))
            whole, ids = [partial_seed], paired[partial_seed]
        if not ids:
            not_run[fam] = {"reason": "no task finished by every arm in any seed"}
            continue
        families[fam] = {**_family(results, fam, ids, arms, whole, learning_arm, budget), "seeds": whole}
        left = [s for s in seeds if s not in whole]
        if partial_seed is not None or left:
            not_run[fam] = {"test_tasks": len(universe), "seeds_reported": whole,
                            "seeds_not_whole": left, "partial_seed": partial_seed,
                            "tasks_not_reported": sorted(set(universe) - set(ids))}
    commits = {r["commit"] for _, r in sources}
    return {
        **{k: first[k] for k in ("purpose", "learning_arm", "validation", "arms", "gpu", "cpu", "cpus")
           if k in first},
        "families": families,
        "not_run": not_run,
        "test_tasks": plan,
        "settings": {**{k: v for k, v in first["settings"].items() if k not in ("deadline_s", "workers")},
                     "seeds": sorted({s for f in families.values() for s in f["seeds"]}),
                     "families": {f: p for _, r in sources for f, p in r["settings"]["families"].items()}},
        "commit": commits.pop() if len(commits) == 1 else "several: see merged_from",
        "date": max(r["date"] for _, r in sources),
        "seconds": round(sum(r["seconds"] for _, r in sources), 1),
        "merged_from": [{"path": p, "commit": r["commit"], "date": r["date"], "seconds": r["seconds"],
                         "gpu": r.get("gpu"), "workers": r["settings"].get("workers"),
                         "deadline_s": r["settings"].get("deadline_s"), "checkpoint": bool(r.get("partial")),
                         "test_runs": sum(x["phase"] == "test" for x in r["runs"])}
                        for p, r in sources],
        "runs": [dict(r) for _, r in sorted(results.items())],
    }


def load(path: Path) -> tuple[str, dict[str, Any]]:
    try:
        return str(path), json.loads(Path(path).read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise ValueError(f"{path}: {exc}") from None


def _check_source(path: str, res: Any) -> None:
    if not isinstance(res, dict) or not isinstance(res.get("settings"), dict) or "runs" not in res:
        raise ValueError(f"{path}: not a science result (checkpoints written before the run "
                         "records carried their settings cannot be merged)")
    for key, kind in (("learning_arm", str), ("commit", str), ("date", str), ("seconds", Real)):
        if not isinstance(res.get(key), kind):
            raise ValueError(f"{path}: {key} is missing" + (" (the learning arm was not chosen yet)"
                                                           if key == "learning_arm" else ""))
    settings = res["settings"]
    if not isinstance(settings.get("budget"), int) or not isinstance(settings.get("families"), dict):
        raise ValueError(f"{path}: settings lack the budget or the families")
    if not isinstance(res["runs"], list):
        raise ValueError(f"{path}: runs is not a list")
    for i, r in enumerate(res["runs"]):
        if not isinstance(r, dict) or "phase" not in r:
            raise ValueError(f"{path}: run {i} is not a run record")
        if r["phase"] != "test":
            continue
        for field, kind in _RUN_TYPES.items():
            if not isinstance(r.get(field), kind):
                raise ValueError(f"{path}: run {i} has no valid {field!r}")
        if r.get("first_correct") is not None and not isinstance(r["first_correct"], int):
            raise ValueError(f"{path}: run {i} has no valid 'first_correct'")


def _check_same(path_a: str, a: dict[str, Any], path_b: str, b: dict[str, Any]) -> None:
    sa, sb = a["settings"], b["settings"]
    pairs = [("budget", sa["budget"], sb["budget"]),
             ("learning_arm", a["learning_arm"], b["learning_arm"]),
             ("validation.chosen", a.get("validation", {}).get("chosen"), b.get("validation", {}).get("chosen")),
             ("sandbox", sa.get("sandbox"), sb.get("sandbox"))]
    arms_a, arms_b = a.get("arms", {}), b.get("arms", {})
    pairs += [(f"arm {n}", arms_a[n], arms_b[n]) for n in sorted(set(arms_a) & set(arms_b))]
    pairs += [(f"family {f}", sa["families"][f], sb["families"][f])
              for f in sorted(set(sa["families"]) & set(sb["families"]))]
    # keys an arm sets are compared through the arms; the seed is what a later call may change
    per_arm = {k for arms in (arms_a, arms_b) for v in arms.values() for k in v} | {"seed"}
    ca, cb = sa.get("experiment_config", {}), sb.get("experiment_config", {})
    pairs += [(k, ca.get(k), cb.get(k)) for k in sorted((set(ca) | set(cb)) - per_arm)]
    for key, va, vb in pairs:
        if va != vb:
            raise ValueError(f"{path_b}: {key} is {vb!r} but {va!r} in {path_a}; not one experiment")


def _test_tasks(sources: list[tuple[str, dict[str, Any]]], fam: str, results: dict[tuple, dict]) -> list[str]:
    """The family's planned test tasks, from every source's plan (or what older results recorded)."""
    ids = {k[4] for k in results if k[1] == fam}
    for _, res in sources:
        ids |= set(res.get("test_tasks", {}).get(fam, []))
        ids |= set(res.get("families", {}).get(fam, {}).get("task_ids", []))
        ids |= set(res.get("not_run", {}).get("test_tasks_not_finished", {}).get(fam, []))
        ids |= set(res.get("not_run", {}).get(fam, {}).get("tasks_not_reported", []))
    return sorted(ids)


def main(argv: list[str] | None = None) -> None:
    import argparse

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("sources", type=Path, nargs="+")
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--plots", type=Path)
    a = ap.parse_args(argv)
    try:
        result = merge([load(p) for p in a.sources])
    except ValueError as exc:
        raise SystemExit(f"error: {exc}") from None
    if a.plots:
        add_plots(result, a.plots)
    a.out.parent.mkdir(parents=True, exist_ok=True)
    a.out.write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
