"""Table several `arcfarm bench science` results as one experiment.

A lent GPU gives ten minutes a call, so the test runs of one experiment arrive in several files:
calls cut by their deadline and continued with `--skip-runs-in`, later seeds with `--seed-from`.
`merge` takes the union of their test runs and tables each family again, exactly as one call
would have: a seed is reported when every arm finished every test task of the family in it.
When no seed is whole, the seed with the most tasks that every arm finished is reported on those
tasks alone, and says so (`partial_seed`). The sources must agree on everything that makes runs
comparable (budget, learning arm, model, the settings that shape prompts); a run recorded twice is
refused rather than counted twice.

    python3 -m arcfarm.bench.science_merge a.json b.json --out bench/results/science-v2.json \
        --plots bench/results/science-v2
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from arcfarm.bench.science import PROMPT_KEYS, _family, add_plots

# Settings that must be equal in every source, or their runs are not one experiment.
_SAME = ("budget",)
_SAME_CONFIG = tuple(sorted(PROMPT_KEYS - {"seed"})) + ("model", "engine")


def merge(sources: list[tuple[str, dict[str, Any]]]) -> dict[str, Any]:
    """`sources`: (path, result) pairs, results written by `science.run` (not checkpoints)."""
    if not sources:
        raise ValueError("nothing to merge")
    for path, res in sources:
        if not isinstance(res, dict) or "settings" not in res or "runs" not in res:
            raise ValueError(f"{path}: not a finished science result (a .partial.json checkpoint "
                             "cannot be merged; continue the call with --skip-runs-in instead)")
    first_path, first = sources[0]
    for path, res in sources[1:]:
        _check_same(first_path, first, path, res)
    results: dict[tuple, dict[str, Any]] = {}
    for path, res in sources:
        for r in res["runs"]:
            if r["phase"] != "test":
                continue
            key = ("test", r["family"], r["arm"], r["seed"], r["task"])
            if key in results:
                raise ValueError(f"{path}: run {key[1:]} is also in another source")
            results[key] = r
    learning_arm, budget = first["learning_arm"], first["settings"]["budget"]
    families, not_run = {}, {}
    for fam in sorted({k[1] for k in results}):
        universe = _test_tasks(sources, fam, results)
        arms = sorted({k[2] for k in results if k[1] == fam})
        seeds = sorted({k[3] for k in results if k[1] == fam})
        whole = [s for s in seeds if all(("test", fam, a, s, t) in results for a in arms for t in universe)]
        partial_seed = None
        if whole:
            ids = universe
        else:  # the seed with the most tasks every arm finished
            paired = {s: [t for t in universe if all(("test", fam, a, s, t) in results for a in arms)]
                      for s in seeds}
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
    return {
        **{k: first[k] for k in ("purpose", "learning_arm", "validation", "arms", "gpu", "cpu", "cpus")
           if k in first},
        "families": families,
        "not_run": not_run,
        "settings": {**first["settings"], "seeds": sorted({s for f in families.values() for s in f["seeds"]}),
                     "families": {f: p for _, r in sources for f, p in r["settings"]["families"].items()}},
        "commit": first["commit"] if len({r["commit"] for _, r in sources}) == 1 else "several: see merged_from",
        "date": max(r["date"] for _, r in sources),
        "seconds": round(sum(r["seconds"] for _, r in sources), 1),
        "merged_from": [{"path": p, "commit": r["commit"], "date": r["date"], "seconds": r["seconds"],
                         "gpu": r.get("gpu"), "test_runs": sum(x["phase"] == "test" for x in r["runs"])}
                        for p, r in sources],
        "runs": [{**r} for _, r in sorted(results.items())],
    }


def load(path: Path) -> tuple[str, dict[str, Any]]:
    try:
        return str(path), json.loads(Path(path).read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise ValueError(f"{path}: {exc}") from None


def _check_same(path_a: str, a: dict[str, Any], path_b: str, b: dict[str, Any]) -> None:
    pairs = [(k, a["settings"].get(k), b["settings"].get(k)) for k in _SAME]
    pairs.append(("learning_arm", a.get("learning_arm"), b.get("learning_arm")))
    ca, cb = a["settings"].get("experiment_config", {}), b["settings"].get("experiment_config", {})
    pairs += [(k, ca.get(k), cb.get(k)) for k in _SAME_CONFIG]
    for key, va, vb in pairs:
        if va != vb:
            raise ValueError(f"{path_b}: {key} is {vb!r} but {va!r} in {path_a}; not one experiment")


def _test_tasks(sources: list[tuple[str, dict[str, Any]]], fam: str, results: dict[tuple, dict]) -> list[str]:
    """The family's test tasks: what any source planned (reported or not finished) or ran."""
    ids = {k[4] for k in results if k[1] == fam}
    for _, res in sources:
        ids |= set(res.get("families", {}).get(fam, {}).get("task_ids", []))
        ids |= set(res.get("not_run", {}).get("test_tasks_not_finished", {}).get(fam, []))
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
