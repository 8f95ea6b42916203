"""Does learning from history help? `arcfarm bench learn-history` (issue 19, item 5).

Per seed s, on the farm's own code paths (runs through `job_runner.run_delivery`, training through
`training_runner.run_training`, all recorded in the database of the settings):

    A      sampling only (budget B) on the seen tasks, seed s
    learn  one LoRA on A with --policy (top8), no test outputs read
    B+     the seen tasks again, seed s + 1000, starting from the learned adapter
    B0     the same without it (the control)
    U+/U0  the same pair on tasks of a family (toy `kind`) the training never saw

and reports pass@n (some prediction right) and pass@2 (both attempts scored) per run, plus the
per-task paired difference adapter minus control, mean over seeds. Solutions only score.

    arcfarm bench learn-history --tasks data/toy/heldout.jsonl --seen-kinds objects,pixels \
        --unseen-kinds enclosures --limit 100 --budget 128 --seeds 0,1,2 -c toy-gpu \
        --out bench/results/learn-from-history.json
"""
from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from arcfarm.arc.tasks import parse_task
from arcfarm.bench.machine import cpu_model, git_commit, today
from arcfarm.settings import Settings


@dataclass
class Plan:
    tasks_file: Path
    seen_kinds: list[str]
    unseen_kinds: list[str]
    limit: int  # tasks per group (seen, unseen)
    budget: int  # predictions per task (sampling only)
    seeds: list[int]
    config: str
    sets: list[str]
    policy: str = "top8"


def _group(plan: Plan, kinds: list[str]) -> list:
    rows = [json.loads(line) for line in plan.tasks_file.read_text().splitlines() if line.strip()]
    chosen = [r for r in rows if r["kind"] in kinds][: plan.limit]
    if not chosen:
        raise ValueError(f"{plan.tasks_file}: no tasks of kinds {kinds}")
    return [parse_task(r["id"], r) for r in chosen]


def run(plan: Plan, settings: Settings, log: Callable[[str], None] = print) -> dict:
    from arcfarm.db import reads
    from arcfarm.db.connection import make_db_engine, make_session_factory
    from arcfarm.db.migrate import upgrade_embedded
    from arcfarm.jobs import learn, submit
    from arcfarm.workers.embedded import EmbeddedRunner
    from arcfarm.workers.training_runner import BaseModelCache, run_training

    upgrade_embedded(settings)
    seen, unseen = _group(plan, plan.seen_kinds), _group(plan, plan.unseen_kinds)
    runner = EmbeddedRunner(settings)
    factory = make_session_factory(make_db_engine(settings.db_url))
    sampling = {"initial_predictions": plan.budget, "max_epochs": 0}

    def do_run(name: str, tasks: list, seed: int, extra: dict) -> tuple[int, dict[str, dict]]:
        config = submit.build_config(plan.config, overrides={**sampling, "seed": seed, **extra},
                                     sets=plan.sets)
        with factory() as s:
            run_id = submit.create_run(session=s, settings=settings, name=name, dataset=name,
                                       tasks=tasks, config=config)
        t0 = time.perf_counter()
        runner.drain(run_id)
        with factory() as s:
            rows = reads.run_tasks(session=s, run_id=run_id)
        log(f"{name}: run {run_id}, {time.perf_counter() - t0:.0f} s")
        return run_id, {r["task_id"]: {"pass_n": r["first_solved_epoch"] is not None,
                                       "pass_2": r["score"] == 1} for r in rows}

    seeds = []
    models = BaseModelCache()
    try:
        for seed in plan.seeds:
            run_a, a = do_run(f"learn-A-s{seed}", seen, seed, {})
            config = submit.build_config(plan.config, overrides={**sampling, "seed": seed},
                                         sets=plan.sets)
            with factory() as s:
                tid = learn.create_training(session=s, name=f"learn-A-s{seed}", run_ids=[run_a],
                                            policy=plan.policy, config=config)
            outcome = run_training(tid, session_factory=factory, artifacts=runner.artifacts,
                                   worker_name="bench", models=models, max_deliveries=1)
            if outcome != "done":
                raise RuntimeError(f"training {tid} ended {outcome}; see `arcfarm trainings {tid}`")
            later, based = seed + 1000, {"base_adapter": f"training:{tid}"}
            # Adapter runs first, then controls: the worker's model is rebuilt once per switch.
            runs = {"B_adapter": (seen, based), "U_adapter": (unseen, based),
                    "B_control": (seen, {}), "U_control": (unseen, {})}
            record = {"seed": seed, "training_id": tid, "A_run": run_a, "A": a, "runs": {}}
            for key, (tasks, extra) in runs.items():
                run_id, record[key] = do_run(f"learn-{key}-s{seed}", tasks, later, extra)
                record["runs"][key] = run_id
            seeds.append(record)
    finally:
        runner.close()
    return {"bench": "learn-history", "date": today(), "commit": git_commit(), "cpu": cpu_model(),
            "plan": {**plan.__dict__, "tasks_file": str(plan.tasks_file)},
            "summary": summarize(seeds), "seeds": seeds}


def summarize(seeds: list[dict]) -> dict:
    """Mean pass@n / pass@2 per run kind, and the paired per-task difference adapter - control."""
    out: dict = {}
    for kind in ("A", "B_adapter", "B_control", "U_adapter", "U_control"):
        for metric in ("pass_n", "pass_2"):
            per_seed = [sum(t[metric] for t in s[kind].values()) / max(len(s[kind]), 1) for s in seeds]
            out[f"{kind}.{metric}"] = {"per_seed": per_seed, "mean": sum(per_seed) / len(per_seed)}
    for group in ("B", "U"):
        for metric in ("pass_n", "pass_2"):
            tasks = sorted(seeds[0][f"{group}_adapter"])
            diff = {t: sum(s[f"{group}_adapter"][t][metric] - s[f"{group}_control"][t][metric]
                           for s in seeds) / len(seeds) for t in tasks}
            out[f"{group}.paired.{metric}"] = {
                "mean_difference": sum(diff.values()) / max(len(diff), 1),
                "tasks_better": sum(d > 0 for d in diff.values()),
                "tasks_worse": sum(d < 0 for d in diff.values())}
    return out
