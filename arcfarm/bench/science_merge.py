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

from arcfarm.bench.science import _family, write_result

_RUN_TYPES = {"family": str, "arm": str, "seed": int, "task": str, "pass_at_2": Real,
              "new_outputs_per_epoch": list, "seconds": Real}
# Parts of a result that must have these types when present.
_PART_TYPES = {"validation": dict, "arms": dict, "test_tasks": dict, "not_run": dict, "families": dict}
# Settings of a call that may differ within one experiment: the seed (a later call adds seeds)
# and the sandbox's processes per Solver (derived from the machine's cores and --workers).
_MAY_DIFFER = {"seed", "exec_workers"}


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
        **{k: first[k] for k in ("purpose", "learning_arm", "validation", "gpu", "cpu", "cpus") if k in first},
        "arms": {n: v for _, r in sources for n, v in r.get("arms", {}).items()},
        "families": families,
        "not_run": not_run,
        "test_tasks": plan,
        "settings": {**{k: v for k, v in first["settings"].items() if k not in ("deadline_s", "workers")},
                     **_experiment_config(sources),
                     "seeds": sorted({s for f in families.values() for s in f["seeds"]}),
                     "families": {f: p for _, r in sources for f, p in r["settings"]["families"].items()}},
        "commit": commits.pop() if len(commits) == 1 else "several: see merged_from",
        "date": max(r["date"] for _, r in sources),
        "seconds": round(sum(r["seconds"] for _, r in sources), 1),
        "merged_from": [{"path": p, "commit": r["commit"], "date": r["date"], "seconds": r["seconds"],
                         "gpu": r.get("gpu"), "mps": r.get("mps"), "workers": r["settings"].get("workers"),
                         "exec_workers": r["settings"].get("experiment_config", {}).get("exec_workers"),
                         "deadline_s": r["settings"].get("deadline_s"), "checkpoint": bool(r.get("partial")),
                         "test_runs": sum(x["phase"] == "test" for x in r["runs"]),
                         **({"merged_from": r["merged_from"]} if "merged_from" in r else {})}
                        for p, r in sources],
        "runs": [dict(r) for _, r in sorted(results.items())],
    }


def load(path: Path) -> tuple[str, dict[str, Any]]:
    try:
        return str(path), json.loads(Path(path).read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
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
    if not isinstance(settings.get("experiment_config", {}), dict):
        raise ValueError(f"{path}: settings.experiment_config is not a mapping")
    for part, kind in _PART_TYPES.items():
        if part in res and not isinstance(res[part], kind):
            raise ValueError(f"{path}: {part} is not a {kind.__name__}")
    if not all(isinstance(v, dict) for v in res.get("arms", {}).values()):
        raise ValueError(f"{path}: an arm's settings are not a mapping")
    if not all(isinstance(v, list) for v in res.get("test_tasks", {}).values()):
        raise ValueError(f"{path}: test_tasks holds something else than lists of task ids")
    if not all(isinstance(v, dict) for v in (*res.get("families", {}).values(), *res.get("not_run", {}).values())
               if v is not None and not isinstance(v, (bool, list))):
        raise ValueError(f"{path}: families or not_run hold something else than mappings")
    if not isinstance(res["runs"], list):
        raise ValueError(f"{path}: runs is not a list")
    for i, r in enumerate(res["runs"]):
        if not isinstance(r, dict) or "phase" not in r:
            raise ValueError(f"{path}: run {i} is not a run record")
        if r["phase"] != "test":
            continue
        for field, kind in _RUN_TYPES.items():
            if not isinstance(r.get(field), kind) or (kind is int and isinstance(r[field], bool)):
                raise ValueError(f"{path}: run {i} has no valid {field!r}")
        fc = r.get("first_correct")
        if fc is not None and (not isinstance(fc, int) or isinstance(fc, bool)):
            raise ValueError(f"{path}: run {i} has no valid 'first_correct'")
        if "cpu_s" in r and not isinstance(r["cpu_s"], Real):
            raise ValueError(f"{path}: run {i} has no valid 'cpu_s'")
        if not all(isinstance(x, Real) for x in r["new_outputs_per_epoch"]):
            raise ValueError(f"{path}: run {i} has no valid 'new_outputs_per_epoch'")


def _check_same(path_a: str, a: dict[str, Any], path_b: str, b: dict[str, Any]) -> None:
    sa, sb = a["settings"], b["settings"]
    pairs = [(k, sa.get(k), sb.get(k)) for k in ("budget", "val_tasks", "test_tasks", "val_seed")]
    pairs += [("learning_arm", a["learning_arm"], b["learning_arm"]),
              ("validation.chosen", a.get("validation", {}).get("chosen"), b.get("validation", {}).get("chosen")),
              ("sandbox", sa.get("sandbox"), sb.get("sandbox"))]
    arms_a, arms_b = a.get("arms", {}), b.get("arms", {})
    pairs += [(f"arm {n}", arms_a[n], arms_b[n]) for n in sorted(set(arms_a) & set(arms_b))]
    pairs += [(f"family {f}", sa["families"][f], sb["families"][f])
              for f in sorted(set(sa["families"]) & set(sb["families"]))]
    # Results before 2026-12-03 recorded the first test arm's config (the experiment's with that
    # arm's keys on top); its keys are compared through the arms instead.
    folded = {k for res in (a, b) if res["settings"].get("experiment_config_scope") != "experiment"
              for k in next(iter(res.get("arms", {}).values()), {})}
    ca, cb = sa.get("experiment_config", {}), sb.get("experiment_config", {})
    pairs += [(k, ca.get(k), cb.get(k)) for k in sorted((set(ca) | set(cb)) - _MAY_DIFFER - folded)]
    for key, va, vb in pairs:
        if va != vb:
            raise ValueError(f"{path_b}: {key} is {vb!r} but {va!r} in {path_a}; not one experiment")


def _experiment_config(sources: list[tuple[str, dict[str, Any]]]) -> dict[str, Any]:
    """The experiment's own config, from a source that recorded it as such; results before
    2026-12-03 recorded their first test arm's config instead (e.g. learning: false), and are
    marked so when no source has the experiment's."""
    for _, res in sources:
        if res["settings"].get("experiment_config_scope") == "experiment":
            return {"experiment_config": res["settings"]["experiment_config"],
                    "experiment_config_scope": "experiment"}
    first = sources[0][1]["settings"]
    return {"experiment_config": first.get("experiment_config", {}),
            "experiment_config_scope": "first test arm (the arm's keys on top of the experiment's)"}


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
    write_result(result, a.out, a.plots)


if __name__ == "__main__":
    main()
