"""Does learning help? Arms x seeds over task families, paired, on one machine.

    arcfarm bench science --family heldout=data/toy/heldout.jsonl --val-tasks 16 --test-tasks 48 \
        --seeds 3 --workers 16 --out bench/results/science-v2.json --plots bench/results/science-v2

Every arm spends the same budget of predictions per task and asks the same prompts (the loop pairs
prompt i's frame and sampling seed across schedules), so the arms differ only in learning:
- `sampling-only`: B + 0;
- `learning-off`: B/4 + 3 x B/4 without training (`learning: false`);
- `committed`: B/4 + 3 x B/4 with the toy loop's learning settings before issue 15 (COMMITTED);
- the candidate recipes (RECIPES): B/4 + 3 x B/4 with the reference's knobs.
Each family is split by a hash of the task id into a validation part and a test part. The
candidates and learning-off run on the validation tasks of all families; the recipe with the best
mean pass@n there (then pass@2) is the `best` arm, and only then does it run on the test tasks,
next to sampling-only, learning-off and committed. Reported numbers are test numbers; the choice
never sees them. Test outputs are used only to score the finished runs.

Per family: pass@2 and pass@n per seed per arm, new distinct outputs per round, and the paired
bootstrap (over tasks, pass@n averaged over seeds) of best - learning-off. The settings that shape
prompts (temperatures, shuffled pairs, samples per prompt) are the experiment's, the same for
every arm: an arm may only change what is learned.
"""
from __future__ import annotations

import hashlib
import json
import os
import time
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from dataclasses import dataclass
from multiprocessing import get_context
from pathlib import Path
from typing import Any, Callable

import numpy as np

from arcfarm.bench.machine import cpu_model, git_commit, today
from arcfarm.bench.science_stats import paired_bootstrap, pass_curve

# Keys that change what is asked of the model; the same for every arm, or the pairing is lost.
PROMPT_KEYS = frozenset({"samples_per_prompt", "temperature", "later_epochs_temperature", "top_p",
                         "cold_prompts_per_round", "cold_temperature", "shuffle_train_pairs",
                         "permute_background", "max_new_tokens", "seed", "initial_predictions",
                         "predictions_per_epoch", "max_epochs"})

# The toy loop's learning settings before issue 15, kept as an arm for reference.
COMMITTED = {"learning_rate": 1e-3, "train_epochs_per_round": 2, "train_examples_per_step": 0,
             "lr_warmup_ratio": 0.0, "weight_decay": 0.0, "relabel_policy": "new_outputs"}
# The reference's per-task recipe (arc25, Iteration 23) and variants of it, chosen among on validation.
REFERENCE = {"relabel_policy": "all_valid", "train_examples_per_step": 1, "train_epochs_per_round": 1,
             "lr_warmup_ratio": 0.1, "lr_schedule": "constant", "weight_decay": 0.01}
RECIPES: dict[str, dict[str, Any]] = {
    "reference-lr1e-4": {**REFERENCE, "learning_rate": 1e-4},
    "reference-lr1e-3": {**REFERENCE, "learning_rate": 1e-3},
    "new-outputs-lr1e-4": {**REFERENCE, "relabel_policy": "new_outputs", "learning_rate": 1e-4},
    "top8-lr1e-4": {**REFERENCE, "relabel_policy": "top_k_by_train_score", "relabel_top_k": 8,
                    "learning_rate": 1e-4},
}


@dataclass(frozen=True)
class Arm:
    name: str
    values: dict[str, Any]  # RunConfig keys on top of the toy defaults and the experiment's


def fixed_arms(budget: int) -> list[Arm]:
    """sampling-only, learning-off and the committed recipe at budget B (a multiple of 4 x the
    samples per prompt keeps every round's prompts whole)."""
    quarter = budget // 4
    rounds = {"initial_predictions": quarter, "predictions_per_epoch": quarter, "max_epochs": 3}
    return [Arm("sampling-only", {"initial_predictions": budget, "max_epochs": 0}),
            Arm("learning-off", {**rounds, "learning": False}),
            Arm("committed", {**rounds, **COMMITTED})]


def recipe_arms(budget: int, names: list[str]) -> list[Arm]:
    quarter = budget // 4
    rounds = {"initial_predictions": quarter, "predictions_per_epoch": quarter, "max_epochs": 3}
    unknown = [n for n in names if n not in RECIPES]
    if unknown:
        raise ValueError(f"unknown recipe {', '.join(unknown)} (known: {', '.join(RECIPES)})")
    return [Arm(n, {**rounds, **RECIPES[n]}) for n in names]


def split(task_ids: list[str], n_val: int, n_test: int) -> tuple[list[str], list[str]]:
    """Validation and test ids: the tasks ordered by a hash of their id (stable, not by file
    order), the first n_val for validation, the next n_test (0 = all the rest) for test."""
    ordered = sorted(task_ids, key=lambda t: hashlib.sha256(t.encode()).hexdigest())
    if n_val >= len(ordered):
        raise ValueError(f"{n_val} validation tasks asked of {len(ordered)}: none left to test on")
    val = ordered[:n_val]
    rest = ordered[n_val:]
    return val, rest[:n_test] if n_test else rest


def choose(validation: dict[str, dict[str, float]]) -> str:
    """The recipe with the best validation pass@n, then pass@2, then name (deterministic)."""
    return sorted(validation, key=lambda n: (-validation[n]["pass_at_n"], -validation[n]["pass_at_2"], n))[0]


# -- one run, in a worker process ------------------------------------------------------------------

_SOLVERS: dict[str, Any] = {}  # one per LoRA structure, per worker process


def _job(job: tuple) -> dict[str, Any]:
    from arcfarm.learn.config import load_config
    from arcfarm.learn.solver import Solver, _structure
    from arcfarm.toy.eval import solve_one

    values, task, solutions = job
    cfg = load_config(None, values=values)
    key = repr(_structure(cfg))  # holds a dict: its text is the key
    if key not in _SOLVERS:
        _SOLVERS[key] = Solver(cfg)
    started = time.process_time()
    out = solve_one(_SOLVERS[key], task, solutions, cfg)
    out["cpu_s"] = round(time.process_time() - started, 2)  # this process only (not the sandbox's)
    return out


# -- the experiment --------------------------------------------------------------------------------

def run(families: dict[str, str], *, model: str = "models/toy", budget: int = 128, seeds: int = 3,
        seed_from: int = 0, val_tasks: int = 16, test_tasks: int = 48, val_seed: int = 100, workers: int = 1,
        recipes: list[str] | None = None, overrides: list[str] | None = None, deadline_s: float = 0,
        test_arms: tuple[str, ...] = ("sampling-only", "learning-off", "committed"),
        chosen: str | None = None, validation_from: dict[str, Any] | None = None,
        skip: frozenset[tuple] = frozenset(),
        log: Callable[[str], None] = lambda m: None,
        checkpoint: Callable[[dict[str, Any]], None] | None = None) -> dict[str, Any]:
    """The whole experiment; returns the result in the schema of issue 15 (see module doc)."""
    from arcfarm.learn.config import _parse_override, load_config
    from arcfarm.toy.eval import TOY_DEFAULTS, device_name
    from arcfarm.toy.eval_tasks import load_tasks

    recipes = list(RECIPES) if recipes is None else recipes
    experiment = dict(TOY_DEFAULTS)
    experiment["model"] = model
    for item in overrides or []:
        key, value = _parse_override(item)
        experiment[key] = value
    if workers > 1 and "exec_workers" not in experiment:
        experiment["exec_workers"] = max(1, (os.cpu_count() or 1) // workers)
    fixed, candidates = fixed_arms(budget), recipe_arms(budget, recipes)
    if chosen is not None and chosen != "committed" and chosen not in [a.name for a in candidates]:
        raise ValueError(f"--chosen {chosen}: not one of the recipes {[a.name for a in candidates]}")
    for arm in fixed + candidates:  # arms may not change the prompts
        shaping = set(arm.values) & PROMPT_KEYS - {"initial_predictions", "predictions_per_epoch", "max_epochs"}
        if shaping:
            raise ValueError(f"arm {arm.name} sets prompt keys {sorted(shaping)}")
        load_config(None, values={**experiment, **arm.values})  # a bad key fails before any run
    tasks: dict[str, dict[str, tuple]] = {}
    parts: dict[str, tuple[list[str], list[str]]] = {}
    for fam, path in families.items():
        loaded = {t.id: (t, s) for t, s in load_tasks(path)}
        tasks[fam] = loaded
        parts[fam] = split(list(loaded), val_tasks, test_tasks)
        log(f"{fam}: {len(loaded)} tasks from {path}; {len(parts[fam][0])} validation, "
            f"{len(parts[fam][1])} test")
    test_seeds = list(range(seed_from, seed_from + seeds))  # a later call may add seeds (science_merge)
    results: dict[tuple, dict[str, Any]] = {}
    started = time.perf_counter()

    def jobs_for(phase: str, arm: Arm, seed_list: list[int]) -> list[tuple[tuple, tuple]]:
        out = []
        for fam in families:
            ids = parts[fam][0] if phase == "validation" else parts[fam][1]
            for seed in seed_list:
                for tid in ids:
                    task, sols = tasks[fam][tid]
                    values = {**experiment, **arm.values, "seed": seed}
                    out.append(((phase, fam, arm.name, seed, tid), (values, task, sols)))
        return out

    val_arms = [fixed[1]] + candidates  # learning-off too: what the candidates must beat
    fixed = [a for a in fixed if a.name in test_arms]
    best: str | None = None
    validation: dict[str, dict[str, float]] = {}
    queue: list[tuple[tuple, tuple]] = []
    if chosen is not None:  # chosen on the validation tasks of an earlier run (`validation_from`)
        best = chosen
        validation = (validation_from or {}).get("arms", {})
        if chosen != "committed":
            queue += jobs_for("test", next(a for a in candidates if a.name == chosen), test_seeds)
    else:
        queue += [j for arm in val_arms for j in jobs_for("validation", arm, [val_seed])]
    queue += [j for arm in fixed for j in jobs_for("test", arm, test_seeds)]
    # Runs an earlier call finished (`skip`, keys as in `runs`) are not run again: a later call
    # continues a cut experiment, and science_merge tables the union.
    if chosen is None and any(k[0] == "validation" for k in skip):
        # the choice needs every validation run in this call: a continuation names it instead
        raise ValueError("validation runs cannot be skipped; continue with --chosen and "
                         "--validation-from the result whose validation chose it")
    skipped: list[int] = [0]  # runs of the plan an earlier call finished (this call and after the choice)

    def not_skipped(jobs: list[tuple[tuple, tuple]]) -> list[tuple[tuple, tuple]]:
        kept = [j for j in jobs if j[0] not in skip]
        skipped[0] += len(jobs) - len(kept)
        return kept

    def log_skipped() -> None:
        if skip:
            log(f"{skipped[0]} planned runs finished earlier and are skipped"
                + ("" if skipped[0] else f" (none of the {len(skip)} earlier runs matches: same --family names?)")
                + "; table the union with science-merge")

    queue = not_skipped(queue)
    if best is not None:
        log_skipped()
    n_val = sum(1 for k, _ in queue if k[0] == "validation")
    stopped_early = False
    base = load_config(None, values=experiment)  # the experiment's settings, before any arm's
    header = {
        "purpose": "does learning help? paired arms at an equal budget; recipe chosen on validation",
        "arms": {a.name: a.values for a in fixed + candidates},
        # the plan: science_merge needs it to tell a whole seed from one cut short
        "test_tasks": {f: parts[f][1] for f in families},
        "settings": {"budget": budget, "seeds_asked": test_seeds, "deadline_s": deadline_s,
                     "val_seed": val_seed, "val_tasks": val_tasks, "test_tasks": test_tasks,
                     "workers": workers, "families": families, "experiment_config": base.model_dump(),
                     "sandbox": os.environ.get("ARCFARM_SANDBOX", "strict"),
                     # the experiment's own settings, before any arm's (science_merge compares them)
                     "experiment_config_scope": "experiment"},
        "gpu": device_name(base.device), "cpu": cpu_model(), "cpus": os.cpu_count(),
        # the Solver processes shared the GPU through CUDA MPS (speed only: README)
        "mps": "CUDA_MPS_PIPE_DIRECTORY" in os.environ,
        "commit": git_commit(), "date": today(),
    }
    val_tasks_of = (validation_from or {}).get("tasks") if chosen is not None else None

    def validation_part() -> dict[str, Any]:
        return {"seed": val_seed, "tasks": val_tasks_of or {f: parts[f][0] for f in families},
                "arms": validation, "chosen": best, "from_earlier_run": chosen is not None}

    def save() -> None:  # a call killed at a hard limit keeps every finished run and the choice
        # a continuation's `families` tables only its own runs: science-merge tables the union
        header["settings"]["runs_skipped_as_finished_earlier"] = skipped[0]
        if checkpoint:
            checkpoint({**header, "partial": True, "learning_arm": best, "validation": validation_part(),
                        "runs": run_records(results), "seconds": round(time.perf_counter() - started, 1)})
    with _pool(workers) as pool:
        pending: dict[Future, tuple] = {}
        while queue or pending:
            # Fed lazily in order (validation, then test seed by seed), so a run cut short by the
            # deadline leaves whole seeds behind, and the chosen recipe's runs join in seed order.
            queue.sort(key=_order)
            while queue and len(pending) < workers + 2 and not stopped_early:
                key, job = queue.pop(0)
                pending[pool.submit(_job, job)] = key
            if not pending:
                break
            done, _ = wait(pending, return_when=FIRST_COMPLETED)
            for fut in done:
                key = pending.pop(fut)
                results[key] = fut.result()
                save()
            if deadline_s and time.perf_counter() - started > deadline_s and not stopped_early:
                stopped_early = True
                log(f"deadline of {deadline_s} s reached: finishing the {len(pending)} runs in flight, "
                    f"{len(queue)} not started")
            if best is None and sum(1 for k in results if k[0] == "validation") == n_val:
                validation = _validation_table(results, val_arms)
                best = choose({n: v for n, v in validation.items() if n != "learning-off"}) \
                    if candidates else "committed"
                log(f"validation ({time.perf_counter() - started:.0f} s): " + ", ".join(
                    f"{n} pass@n {v['pass_at_n']:.3f} pass@2 {v['pass_at_2']:.3f}"
                    for n, v in validation.items()) + f"; chosen: {best}")
                if best != "committed":
                    queue += not_skipped(jobs_for("test", next(a for a in candidates if a.name == best),
                                                  test_seeds))
                log_skipped()
                save()
    # Only seeds whose every arm ran on every test task are reported (a deadline may cut the rest).
    arms_wanted = [a.name for a in fixed] + ([best] if best and best not in [a.name for a in fixed] else [])
    # A deadline may cut a seed short: report, per family, the tasks every arm finished in every
    # seed that has any (the pairing holds on them); `runs` keeps every finished run either way.
    done_seeds = [s for s in test_seeds if any(k[0] == "test" and k[3] == s for k in results)]
    not_run = sorted({(k[2], k[3]) for k, _ in queue}) if stopped_early else []
    learning_arm = best or "committed"
    finished = {fam: [t for t in parts[fam][1] if all(("test", fam, a, s, t) in results
                                                       for a in arms_wanted for s in done_seeds)]
                for fam in families}
    out_families = {fam: _family(results, fam, finished[fam], arms_wanted, done_seeds, learning_arm,
                                 budget) for fam in families if done_seeds and finished[fam]}
    return {
        **header,
        "families": out_families,
        "learning_arm": learning_arm,
        "validation": validation_part(),
        "runs": run_records(results),
        "not_run": {"stopped_by_deadline": stopped_early, "arm_seed_pairs_not_started":
                    [list(p) for p in not_run], "seeds_reported": done_seeds,
                    "test_tasks_not_finished": {f: sorted(set(parts[f][1]) - set(finished[f]))
                                                for f in families}},
        "settings": {**header["settings"], "seeds": done_seeds,
                     "runs_skipped_as_finished_earlier": skipped[0]},
        "seconds": round(time.perf_counter() - started, 1),
    }


RUN_FIELDS = ("first_correct", "pass_at_2", "new_outputs_per_epoch", "seconds", "cpu_s", "phase_s")


def run_records(results: dict[tuple, dict[str, Any]]) -> list[dict[str, Any]]:
    """Finished runs as the result's `runs` list (everything `_family` needs, so a checkpoint or
    several results can be tabled again by science_merge)."""
    return [{"phase": k[0], "family": k[1], "arm": k[2], "seed": k[3], "task": k[4],
             **{f: r[f] for f in RUN_FIELDS if f in r}} for k, r in sorted(results.items())]


def _order(item: tuple) -> tuple:
    (phase, fam, arm, seed, tid), _ = item
    return (phase != "validation", seed, fam, tid, arm)


def _pool(workers: int):
    """Not multiprocessing.Pool: its daemonic workers may not start the sandbox's processes."""
    return ProcessPoolExecutor(max(1, workers), mp_context=get_context("spawn"))


def _validation_table(results: dict[tuple, dict], arms: list[Arm]) -> dict[str, dict[str, float]]:
    table = {}
    for arm in arms:
        runs = [r for k, r in results.items() if k[0] == "validation" and k[2] == arm.name]
        table[arm.name] = {"pass_at_n": float(np.mean([r["first_correct"] is not None for r in runs])),
                           "pass_at_2": float(np.mean([r["pass_at_2"] for r in runs])),
                           "n_runs": len(runs)}
    return table


def _family(results: dict[tuple, dict], fam: str, ids: list[str], arms: list[str], seeds: list[int],
            learning_arm: str, budget: int) -> dict[str, Any]:
    out: dict[str, Any] = {"n_tasks": len(ids), "task_ids": ids, "arms": {}}
    solved: dict[str, np.ndarray] = {}  # arm -> [seed, task] pass@n
    for arm in arms:
        runs = [[results[("test", fam, arm, s, t)] for t in ids] for s in seeds]
        hits = np.array([[r["first_correct"] is not None for r in row] for row in runs], dtype=float)
        solved[arm] = hits
        rounds = max(len(r["new_outputs_per_epoch"]) for row in runs for r in row)
        new = [float(np.mean([(r["new_outputs_per_epoch"] + [0] * rounds)[i] for row in runs for r in row]))
               for i in range(rounds)]
        out["arms"][arm] = {
            "pass_at_2": [float(np.mean([r["pass_at_2"] for r in row])) for row in runs],
            "pass_at_n": [float(h.mean()) for h in hits],
            "new_outputs_per_round": [round(x, 2) for x in new],
            "pass_curve": [round(x, 4) for x in pass_curve([r["first_correct"] for row in runs for r in row],
                                                           budget)],
            "solved_tasks": [[t for t, h in zip(ids, row) if h] for row in hits],
            "seconds": [round(sum(r["seconds"] for r in row), 1) for row in runs],
            "cpu_s": [round(sum(r.get("cpu_s", 0.0) for r in row), 1) for row in runs],
        }
    if "learning-off" not in solved:
        return out
    # every other arm against learning-off, paired per task (the issue's key is the learning arm's)
    out["minus_off"] = {arm: _minus_off(hits, solved["learning-off"]) for arm, hits in solved.items()
                        if arm != "learning-off"}
    if learning_arm in solved:
        diff = out["minus_off"][learning_arm]
        out["ci95_learning_minus_off"] = diff["ci95"]
        out["learning_minus_off"] = {"arm": learning_arm, "pass_at_n_mean": diff["pass_at_n_mean"],
                                     "per_seed": diff["per_seed"]}
    return out


def _minus_off(arm: np.ndarray, off: np.ndarray) -> dict[str, Any]:
    """pass@n of an arm minus learning-off's ([seed, task] arrays): mean, per seed, and a paired
    bootstrap 95% interval over tasks of the seed-averaged difference."""
    mean, low, high = paired_bootstrap(arm.mean(axis=0), off.mean(axis=0))
    return {"pass_at_n_mean": round(mean, 4), "ci95": [round(low, 4), round(high, 4)],
            "per_seed": [round(float(d), 4) for d in (arm - off).mean(axis=1)]}


def curves(result: dict[str, Any], family: str) -> dict[str, list[float]]:
    return {arm: v["pass_curve"] for arm, v in result["families"][family]["arms"].items()}


def main(argv: list[str] | None = None) -> None:
    """`python3 -m arcfarm.bench.science ...`: `arcfarm bench science` without the CLI's imports
    (the GPU machines lack typer)."""
    import argparse
    import sys

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--family", action="append", default=[], help="NAME=PATH (repeat)")
    ap.add_argument("--model", default="models/toy")
    ap.add_argument("--budget", type=int, default=128)
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--seed-from", type=int, default=0, help="test seeds seed-from .. seed-from+seeds-1")
    ap.add_argument("--val-tasks", type=int, default=16)
    ap.add_argument("--test-tasks", type=int, default=48)
    ap.add_argument("--recipes", default="")
    ap.add_argument("--workers", type=int, default=1)
    ap.add_argument("--deadline-s", type=float, default=0)
    ap.add_argument("--test-arms", default="sampling-only,learning-off,committed")
    ap.add_argument("--chosen", default=None, help="skip validation: this recipe, chosen earlier")
    ap.add_argument("--validation-from", type=Path, help="the earlier result whose validation chose it")
    ap.add_argument("--set", dest="overrides", action="append", default=[])
    ap.add_argument("--skip-runs-in", type=Path, action="append", default=[],
                    help="an earlier result or .partial.json: its finished runs are not run again")
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--plots", type=Path)
    a = ap.parse_args(argv)
    families = dict(item.split("=", 1) for item in a.family) or {"heldout": "data/toy/heldout.jsonl"}

    def log(msg: str) -> None:
        print(msg, file=sys.stderr, flush=True)

    def checkpoint(partial: dict) -> None:
        a.out.parent.mkdir(parents=True, exist_ok=True)
        a.out.with_suffix(".partial.json").write_text(json.dumps(partial, indent=2))

    try:
        earlier = earlier_validation(a.chosen, a.validation_from)
        skip = finished_runs(a.skip_runs_in)
        result = run(families, model=a.model, budget=a.budget, seeds=a.seeds, seed_from=a.seed_from,
                     val_tasks=a.val_tasks,
                     test_arms=tuple(a.test_arms.split(",")), chosen=a.chosen, validation_from=earlier,
                     test_tasks=a.test_tasks, workers=a.workers, deadline_s=a.deadline_s,
                     recipes=[r for r in a.recipes.split(",") if r] or None, overrides=a.overrides,
                     skip=skip, log=log, checkpoint=checkpoint)
    except ValueError as exc:
        raise SystemExit(f"error: {exc}") from None
    write_result(result, a.out, a.plots)


def write_result(result: dict[str, Any], out: Path, plots: Path | None) -> None:
    """The `python -m` entry points' output: plots (when asked) first, as their paths go in the JSON."""
    if plots:
        add_plots(result, plots)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")


def finished_runs(paths: list[Path]) -> frozenset[tuple]:
    """The keys (phase, family, arm, seed, task) of the runs recorded in earlier results."""
    keys = set()
    for path in paths:
        try:
            data = json.loads(Path(path).read_text())
        except (OSError, json.JSONDecodeError) as exc:
            raise ValueError(f"--skip-runs-in {path}: {exc}") from None
        runs = data.get("runs", []) if isinstance(data, dict) else None
        if not isinstance(runs, list):
            raise ValueError(f"--skip-runs-in {path}: not a science result (no list of runs)")
        for r in runs:
            if not isinstance(r, dict):  # a checkpoint of before the full run records
                raise ValueError(f"{path}: runs without their records cannot be skipped")
            try:
                keys.add((r["phase"], r["family"], r["arm"], r["seed"], r["task"]))
            except KeyError as exc:
                raise ValueError(f"--skip-runs-in {path}: a run without {exc}") from None
    return frozenset(keys)


def earlier_validation(chosen: str | None, path: Path | None) -> dict[str, Any] | None:
    """The validation part of an earlier result, which must have chosen `chosen` (so a test run
    with `--chosen` always rests on a recorded validation, never on a recipe picked by hand)."""
    try:
        earlier = json.loads(path.read_text())["validation"] if path else None
    except (OSError, json.JSONDecodeError, KeyError, TypeError) as exc:
        raise ValueError(f"--validation-from {path}: not a science result ({exc!r})") from None
    if chosen and (not isinstance(earlier, dict) or earlier.get("chosen") != chosen):
        raise ValueError(f"--chosen {chosen}: --validation-from must be a result whose validation chose it")
    return earlier


def add_plots(result: dict[str, Any], folder: Path) -> None:
    """One plot per family (pass@n against predictions spent, a line per arm), paths in the result."""
    from arcfarm.bench.science_plot import plot_family

    for fam, data in result["families"].items():
        n_seeds = len(data.get("seeds", result["settings"]["seeds"]))
        title = f"{fam}: {data['n_tasks']} test tasks, {n_seeds} seeds, {result['gpu']}"
        result.setdefault("plots", {})[fam] = str(plot_family(fam, curves(result, fam), folder, title))


if __name__ == "__main__":
    main()
