"""Sampling only vs search-and-learn at an equal prediction budget, on held-out toy tasks.

    arcfarm toy eval --model models/toy --tasks data/toy/train.heldout.jsonl --json > toy-eval.json
    arcfarm toy plot toy-eval.json --out toy-eval.png

Three schedules spend the same budget B of predictions (B = 128 by default):
  `128+0`   B initial predictions, no learning;
  `32+3x32` B/4 initial, then 3 rounds of (train the task's LoRA on relabeled programs, sample B/4);
  `16+7x16` B/8 initial, then 7 rounds of B/8.
Each runs with every seed through the lead's loop (arcfarm.learn.solver.Solver): one Solver, or one per
process with `--workers K` (K Solvers share one GPU; the toy model is small and decoding is latency-bound).
pass@2 = the ARC score of the loop's two attempts (scoring.task_score); pass@n = some prediction's
test outputs are all correct. Both are means over tasks, one number per seed. `first_correct`
(per seed, per task: predictions spent until the first correct one, or null) gives the curve of
pass@n against predictions spent that `plot` draws.

`--tasks` is a synth JSONL file or anything `arcfarm.arc.datasets.load_taskset` reads, e.g. the
named dataset `arc-agi-1/evaluation` (every task must come with its test outputs). `--max-grid N`
and `--max-prompt-tokens N` keep only the tasks the toy model can see at all (it was trained on grids
of size 3..15 and sequences of at most 2048 tokens); the result records what was dropped and why
(`filtered`).
"""
from __future__ import annotations

import os
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from multiprocessing import get_context
from pathlib import Path
from typing import Any, Callable

import numpy as np

from arcfarm.arc.tasks import Task
from arcfarm.bench.machine import git_commit
from arcfarm.learn.config import RunConfig, load_config
from arcfarm.toy.eval_tasks import filter_tasks, load_tasks, pick_ids

# Loop settings for the toy model (any of them can be overridden with `--set key=value`). The
# learning settings are the recipe `arcfarm bench science` chose on validation (new-outputs-lr1e-4,
# bench/results/science-v2-run1.json): lr 1e-4 with 10% warm-up, one example per step, one pass,
# weight decay 0.01. Before it: lr 1e-3, two passes, packed batches (the `committed` arm there).
TOY_DEFAULTS: dict[str, Any] = {
    "engine": "hf", "dtype": "auto", "device": "auto",
    "samples_per_prompt": 8, "temperature": 1.0, "top_p": 0.95, "max_new_tokens": 640,
    "sample_batch_size": 64, "exec_timeout_s": 2.0,
    "lora_rank": 16, "lora_alpha": 32.0, "use_rslora": True,
    "lora_target_modules": ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"],
    "learning_rate": 1e-4, "lr_warmup_ratio": 0.1, "weight_decay": 0.01, "train_examples_per_step": 1,
    "train_epochs_per_round": 1, "relabel_policy": "new_outputs",
    "max_seq_len": 4096, "time_budget_s": 3600.0,
}


@dataclass(frozen=True)
class Schedule:
    initial: int
    per_epoch: int
    epochs: int

    @property
    def name(self) -> str:
        return f"{self.initial}+0" if self.epochs == 0 else f"{self.initial}+{self.epochs}x{self.per_epoch}"

    @property
    def total(self) -> int:
        return self.initial + self.epochs * self.per_epoch


def schedules(budget: int) -> list[Schedule]:
    """128 -> 128+0, 32+3x32, 16+7x16 (integer division: a budget should be a multiple of 8)."""
    if budget < 8 or budget % 8:
        raise ValueError(f"budget {budget} must be a positive multiple of 8")
    return [Schedule(budget, 0, 0), Schedule(budget // 4, budget // 4, 3), Schedule(budget // 8, budget // 8, 7)]


def _correct(outputs: list[np.ndarray | None], solutions: list[np.ndarray]) -> bool:
    return len(outputs) == len(solutions) and all(
        g is not None and g.shape == s.shape and np.array_equal(g, s) for g, s in zip(outputs, solutions))


def run_config(model: str, schedule: Schedule, seed: int, overrides: list[str]) -> RunConfig:
    values = {**TOY_DEFAULTS, "model": model, "seed": seed, "initial_predictions": schedule.initial,
              "predictions_per_epoch": schedule.per_epoch, "max_epochs": schedule.epochs}
    return load_config(None, overrides, values=values)


def solve_one(solver, task: Task, solutions: list[np.ndarray], cfg: RunConfig) -> dict[str, Any]:
    """One loop run; returns pass@2, the first correct prediction's position (1-based), seconds, and
    how varied the search was: distinct output fingerprints per epoch (valid programs only; this
    uses no solution, so it can say whether learning narrows what the model samples)."""
    from arcfarm.arc.scoring import task_score
    from arcfarm.learn.loop import LoopHooks

    hits: list[int] = []
    seen: set[str] = set()
    new_per_epoch: dict[int, int] = {}

    def on_predictions(records) -> None:
        hits.extend(r.sample_index + 1 for r in records if _correct(r.test_outputs, solutions))
        for r in records:
            if r.fingerprint is not None and r.fingerprint not in seen:
                seen.add(r.fingerprint)
                new_per_epoch[r.epoch] = new_per_epoch.get(r.epoch, 0) + 1

    result = solver.solve(task, cfg, LoopHooks(on_predictions=on_predictions))
    epochs = [e.epoch for e in result.epochs]
    # where the wall time went, summed over rounds: says whether sampling, the sandbox or training bounds a run
    phase_s = {k: round(sum(getattr(e, f"{k}_s") for e in result.epochs), 2)
               for k in ("sample", "execute", "relabel", "train", "reset")}
    stats = getattr(solver.engine, "compile_stats", None)  # the fast engine's, cumulative per process
    return {"phase_s": phase_s, "pid": os.getpid(), "compile": stats() if stats else None,
            "sample_warnings": [e.sample_warning for e in result.epochs if e.sample_warning],
            "pass_at_2": task_score(result.attempts, solutions), "first_correct": min(hits, default=None),
            "predictions": sum(e.predictions for e in result.epochs), "seconds": result.seconds,
            "distinct_outputs": len(seen), "new_outputs_per_epoch": [new_per_epoch.get(e, 0) for e in epochs]}


def evaluate(model: str, tasks_path: str | Path, *, budget: int = 128, seeds: tuple[int, ...] = (0, 1, 2),
             limit: int = 0, offset: int = 0, overrides: list[str] | None = None, workers: int = 1,
             only: tuple[str, ...] = (), max_grid: int = 0, max_prompt_tokens: int = 0,
             ids: tuple[str, ...] = (), log: Callable[[str], None] = lambda m: None) -> dict[str, Any]:
    """Every (schedule, seed, task) once; `workers` > 1 runs that many Solver processes side by side
    (the toy model is small: one GPU serves several, and decoding latency, not compute, bounds it).
    The filters (`filter_tasks`) apply before `offset` and `limit`."""
    overrides = list(overrides or [])
    if workers > 1 and not any(o.startswith("exec_workers=") for o in overrides):
        overrides.append(f"exec_workers={max(1, (os.cpu_count() or 1) // workers)}")
    tasks, filtered = filter_tasks(load_tasks(tasks_path), model, max_grid, max_prompt_tokens)
    if max_grid or max_prompt_tokens:
        log(f"{filtered['kept']} of {filtered['loaded']} tasks kept; dropped {filtered['dropped']}")
    if ids:
        tasks = pick_ids(tasks, ids, tasks_path)
    tasks = tasks[offset:offset + limit] if limit else tasks[offset:]
    if not tasks:
        raise ValueError(f"{tasks_path}: no tasks left to evaluate (filters: {filtered['dropped']})")
    plan = [s for s in schedules(budget) if not only or s.name in only]
    base = run_config(model, plan[0], seeds[0], overrides)
    started = time.perf_counter()
    jobs = [(model, overrides, sched, seed, task, sols)
            for sched in plan for seed in seeds for task, sols in tasks]
    runs = iter(_run_jobs(jobs, workers, base))
    out_schedules = []
    compiled: dict[int, dict] = {}  # Solver process -> its engine's compile stats
    for sched in plan:
        entry: dict[str, Any] = {"schedule": sched.name, "initial_predictions": sched.initial,
                                 "predictions_per_epoch": sched.per_epoch, "max_epochs": sched.epochs,
                                 "pass_at_2": [], "pass_at_n": [], "first_correct": [], "seconds": []}
        for seed in seeds:
            per_task = [next(runs) for _ in tasks]
            entry.setdefault("pass_at_2_tasks", []).append([r["pass_at_2"] for r in per_task])
            entry["pass_at_2"].append(float(np.mean([r["pass_at_2"] for r in per_task])))
            entry["pass_at_n"].append(float(np.mean([r["first_correct"] is not None for r in per_task])))
            entry["first_correct"].append([r["first_correct"] for r in per_task])
            entry["seconds"].append(round(sum(r["seconds"] for r in per_task), 1))
            entry.setdefault("distinct_outputs", []).append(float(np.mean([r["distinct_outputs"] for r in per_task])))
            entry.setdefault("new_outputs_per_epoch_tasks", []).append([r["new_outputs_per_epoch"] for r in per_task])
            entry.setdefault("sample_warnings", []).append(sum(len(r["sample_warnings"]) for r in per_task))
            for r in per_task:  # cumulative per process, met in job order: keep each one's largest
                if r["compile"] and (r["pid"] not in compiled or _total(r["compile"]) > _total(compiled[r["pid"]])):
                    compiled[r["pid"]] = r["compile"]
            log(f"{sched.name} seed {seed}: pass@2 {entry['pass_at_2'][-1]:.3f} "
                f"pass@n {entry['pass_at_n'][-1]:.3f} ({entry['seconds'][-1]} s of solving)")
        out_schedules.append(entry)
    return {"n_tasks": len(tasks), "budget": budget, "seeds": list(seeds), "schedules": out_schedules,
            "task_ids": [t.id for t, _ in tasks], "model": str(model), "tasks": str(tasks_path),
            "offset": offset, "limit": limit, "ids": list(ids), "filtered": filtered,
            "config": {k: v for k, v in base.model_dump().items()
                       if k not in ("seed", "initial_predictions", "predictions_per_epoch", "max_epochs")},
            "workers": workers, "device": device_name(base.device), "commit": git_commit(),
            "compile": compile_totals(compiled),
            "seconds": round(time.perf_counter() - started, 1)}


def _total(stats: dict) -> int:
    return stats["compiled_shapes"] + stats["fallbacks"]


def compile_totals(per_process: dict[int, dict | None]) -> dict[str, Any] | None:
    """The compiled decode step over all Solver processes: shapes (graphs) compiled, shapes that
    fell back to eager, the first error; None when no process compiled (hf engine, compile off)."""
    seen = [s for s in per_process.values() if s]
    if not seen:
        return None
    return {"processes": len(seen), "graphs": sum(s["compiled_shapes"] for s in seen),
            "fallbacks": sum(s["fallbacks"] for s in seen),
            "first_error": next((s["first_error"] for s in seen if s["first_error"]), None)}


_SOLVER = None  # one per worker process


def _job(job: tuple) -> dict[str, Any]:
    global _SOLVER
    from arcfarm.learn.solver import Solver

    model, overrides, sched, seed, task, solutions = job
    cfg = run_config(model, sched, seed, overrides)
    if _SOLVER is None:
        _SOLVER = Solver(cfg)
    return solve_one(_SOLVER, task, solutions, cfg)


def _run_jobs(jobs: list[tuple], workers: int, base: RunConfig) -> list[dict[str, Any]]:
    if workers <= 1:
        from arcfarm.learn.solver import Solver

        global _SOLVER
        with Solver(base) as solver:
            _SOLVER = solver
            try:
                return [_job(j) for j in jobs]
            finally:
                _SOLVER = None
    # Not multiprocessing.Pool: its daemonic workers may not start the sandbox's processes.
    with ProcessPoolExecutor(workers, mp_context=get_context("spawn")) as pool:
        return list(pool.map(_job, jobs))


def device_name(device: str) -> str:
    import torch

    if device != "cpu" and torch.cuda.is_available():
        return torch.cuda.get_device_name(0)
    return f"cpu ({torch.get_num_threads()} threads)"


# -- the plot -------------------------------------------------------------------------------------

def pass_curve(first_correct: list[list[int | None]], total: int) -> list[float]:
    """Mean over seeds and tasks of "solved within k predictions", for k = 1..total."""
    flat = [f for per_seed in first_correct for f in per_seed]
    if not flat:
        return [0.0] * total
    return [sum(f is not None and f <= k for f in flat) / len(flat) for k in range(1, total + 1)]


def plot(result: dict[str, Any], path: str | Path) -> Path:
    """pass@n against predictions spent, one line per schedule (matplotlib: the `bench` extra)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 4))
    for entry in result["schedules"]:
        total = entry["initial_predictions"] + entry["max_epochs"] * entry["predictions_per_epoch"]
        curve = pass_curve(entry["first_correct"], total)
        ax.plot(range(1, total + 1), curve, label=entry["schedule"])
    ax.set_xlabel("predictions spent")
    ax.set_ylabel("pass@n (held-out tasks)")
    ax.set_title(f"{result['n_tasks']} tasks, {len(result.get('seeds', [0]))} seeds, {result['device']}")
    ax.grid(alpha=0.3)
    ax.legend()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


def main(argv: list[str] | None = None) -> None:
    """`python3 -m arcfarm.toy.eval ...`: the same as `arcfarm toy eval`, without the CLI's imports."""
    import argparse
    import json
    import sys

    ap = argparse.ArgumentParser(description="Sampling only vs search-and-learn on held-out toy tasks.")
    ap.add_argument("--model", required=True)
    ap.add_argument("--tasks", required=True,
                    help="A synth JSONL file, or a load_taskset source such as arc-agi-1/evaluation.")
    ap.add_argument("--budget", type=int, default=128)
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--first-seed", type=int, default=0)
    ap.add_argument("--limit", type=int, default=0)
    ap.add_argument("--offset", type=int, default=0, help="Skip this many tasks first.")
    ap.add_argument("--only", default="", help="Comma-separated schedule names, e.g. 32+3x32.")
    ap.add_argument("--max-grid", type=int, default=0,
                    help="Keep only tasks whose train grids and test inputs have both sides <= N (0 = all).")
    ap.add_argument("--max-prompt-tokens", type=int, default=0,
                    help="Skip tasks whose prompt is longer than N tokens of the model's tokenizer (0 = all).")
    ap.add_argument("--ids", default="", help="Comma-separated task ids to evaluate (after the filters).")
    ap.add_argument("--workers", type=int, default=1)
    ap.add_argument("--set", dest="overrides", action="append", default=[])
    ap.add_argument("--out", type=Path, help="Write the result JSON here (else stdout).")
    ap.add_argument("--plot", type=Path)
    a = ap.parse_args(argv)
    seeds = tuple(range(a.first_seed, a.first_seed + a.seeds))
    result = evaluate(a.model, a.tasks, budget=a.budget, seeds=seeds, limit=a.limit, offset=a.offset,
                      only=tuple(x for x in a.only.split(",") if x),
                      max_grid=a.max_grid, max_prompt_tokens=a.max_prompt_tokens,
                      ids=tuple(x for x in a.ids.split(",") if x), overrides=a.overrides, workers=a.workers,
                      log=lambda m: print(m, file=sys.stderr, flush=True))
    text = json.dumps(result)
    if a.out:
        a.out.parent.mkdir(parents=True, exist_ok=True)
        a.out.write_text(text)
    else:
        print(text)
    if a.plot:
        plot(result, a.plot)


if __name__ == "__main__":
    main()
