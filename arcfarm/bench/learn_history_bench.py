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
        --unseen-kinds enclosures --limit 100 --budget 128 --seeds 0,1,2 -c toy-cpu --set device=cuda \
        --out bench/results/learn-from-history.json

The unseen group may come from another file (`--unseen-tasks`, e.g. another family of the science
experiment); empty kinds take every task of the file. `--part adapter` (A, learn, B+, U+) and
`--part control` (B0, U0) split a seed in two, so one machine can run them (and the seeds) as
separate processes side by side; `merge` joins their results by seed and tables them as one run.
`python -m arcfarm.bench.learn_history_bench` is the same without the CLI's imports.
"""
from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from arcfarm.arc.tasks import parse_task
from arcfarm.bench.machine import cpu_model, git_commit, software, today
from arcfarm.bench.science_stats import paired_bootstrap
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
    unseen_file: Path | None = None  # None: tasks_file
    part: str = "all"  # all | adapter (A, learn, B+, U+) | control (B0, U0)


PARTS = {"all": ("A", "B_adapter", "U_adapter", "B_control", "U_control"),
         "adapter": ("A", "B_adapter", "U_adapter"), "control": ("B_control", "U_control")}
KINDS = PARTS["all"]


def _group(path: Path, kinds: list[str], limit: int) -> list:
    rows = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    chosen = [r for r in rows if not kinds or r.get("kind") in kinds][:limit]
    if not chosen:
        raise ValueError(f"{path}: no tasks of kinds {kinds}")
    return [parse_task(r["id"], r) for r in chosen]


def groups(plan: Plan) -> tuple[list, list]:
    """The seen and unseen tasks (the first `limit` of each file and kinds), or ValueError saying
    what is wrong with the plan: checked before anything is written."""
    if plan.part not in PARTS:
        raise ValueError(f"part must be one of {', '.join(PARTS)}, got {plan.part!r}")
    seen = _group(plan.tasks_file, plan.seen_kinds, plan.limit)
    unseen = _group(plan.unseen_file or plan.tasks_file, plan.unseen_kinds, plan.limit)
    both = {t.id for t, _ in seen} & {t.id for t, _ in unseen}
    if both:  # a task in both groups would make "does it transfer?" answer "does it remember?"
        raise ValueError(f"{len(both)} tasks are both seen and unseen (e.g. {min(both)}): "
                         f"choose other kinds or --unseen-tasks")
    return seen, unseen


def run(plan: Plan, settings: Settings, log: Callable[[str], None] = print,
        checkpoint: Callable[[dict], None] = lambda partial: None) -> dict:
    """Every seed's runs of `plan.part`; `checkpoint` gets the result so far after each run (a
    lent machine's call may end before the last)."""
    from arcfarm.db import reads
    from arcfarm.db.connection import make_db_engine, make_session_factory
    from arcfarm.db.migrate import upgrade_embedded
    from arcfarm.db.trainings import training_row
    from arcfarm.jobs import learn, submit
    from arcfarm.workers.embedded import EmbeddedRunner
    from arcfarm.workers.training_runner import BaseModelCache, run_training

    seen, unseen = groups(plan)
    upgrade_embedded(settings)
    wanted = PARTS[plan.part]
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
            record: dict = {"seed": seed, "runs": {}}
            based: dict = {}
            if "A" in wanted:
                run_a, record["A"] = do_run(f"learn-A-s{seed}", seen, seed, {})
                checkpoint(result(plan, settings, seeds + [record], complete=False))
                config = submit.build_config(plan.config, overrides={**sampling, "seed": seed},
                                             sets=plan.sets)
                with factory() as s:
                    tid = learn.create_training(session=s, name=f"learn-A-s{seed}", run_ids=[run_a],
                                                policy=plan.policy, config=config)
                outcome = run_training(tid, session_factory=factory, artifacts=runner.artifacts,
                                       worker_name="bench", models=models, max_deliveries=1)
                if outcome != "done":
                    raise RuntimeError(f"training {tid} ended {outcome}; see `arcfarm trainings {tid}`")
                with factory() as s:
                    row = training_row(session=s, training_id=tid) or {}
                # what was learned, kept here: a lent machine's database does not come back
                record.update(training_id=tid, A_run=run_a, training={
                    k: row.get(k) for k in ("n_examples", "n_tokens", "steps", "final_loss", "seconds")})
                based = {"base_adapter": f"training:{tid}"}
            # Adapter runs first, then controls: the worker's model is rebuilt once per switch.
            runs = {"B_adapter": (seen, based), "U_adapter": (unseen, based),
                    "B_control": (seen, {}), "U_control": (unseen, {})}
            for key, (tasks, extra) in runs.items():
                if key in wanted:
                    run_id, record[key] = do_run(f"learn-{key}-s{seed}", tasks, seed + 1000, extra)
                    record["runs"][key] = run_id
                    checkpoint(result(plan, settings, seeds + [record], complete=False))
            seeds.append(record)
    finally:
        runner.close()
    return result(plan, settings, seeds, complete=True)


def result(plan: Plan, settings: Settings, seeds: list[dict], *, complete: bool) -> dict:
    plan_json = {**plan.__dict__, "tasks_file": str(plan.tasks_file),
                 "unseen_file": str(plan.unseen_file) if plan.unseen_file else None}
    # run and training ids are rows of this database (one per part when parts run apart)
    return {"bench": "learn-history", "date": today(), "commit": git_commit(), "cpu": cpu_model(),
            "software": software(), "database": settings.db_url, "complete": complete, "plan": plan_json,
            "summary": summarize(seeds) if plan.part == "all" and complete else None, "seeds": seeds}


def merge(results: list[dict]) -> dict:
    """Parts of one experiment (same plan but `part` and `seeds`) joined by seed and tabled; refuses
    a run kind recorded twice for a seed, a seed missing a kind, or plans that differ."""
    def same(plan: dict) -> dict:
        return {k: v for k, v in plan.items() if k not in ("part", "seeds")}

    if not results:
        raise ValueError("nothing to merge")
    for i, r in enumerate(results):
        if r.get("bench") != "learn-history" or not isinstance(r.get("plan"), dict):
            raise ValueError(f"result {i} is not a learn-history result")
    first = same(results[0]["plan"])
    commits = {r["commit"] for r in results}
    if len(commits) > 1:
        raise ValueError(f"the parts ran at different commits ({', '.join(sorted(commits))})")
    by_seed: dict[int, dict] = {}
    for i, r in enumerate(results):
        if same(r["plan"]) != first:
            diff = sorted(k for k in set(first) | set(same(r["plan"])) if first.get(k) != r["plan"].get(k))
            raise ValueError(f"result {i} has another plan ({', '.join(diff)} differ)")
        for rec in r["seeds"]:
            into = by_seed.setdefault(rec["seed"], {"seed": rec["seed"], "runs": {}})
            for key in KINDS:
                if key in rec:
                    if key in into:
                        raise ValueError(f"seed {rec['seed']}: {key} is in more than one result")
                    into[key] = rec[key]
            into["runs"].update(rec.get("runs", {}))
            into.update({k: rec[k] for k in ("training_id", "A_run", "training") if k in rec})
    seeds = [by_seed[s] for s in sorted(by_seed)]
    for rec in seeds:
        missing = [k for k in KINDS if k not in rec]
        if missing:
            raise ValueError(f"seed {rec['seed']}: no {', '.join(missing)} in any result")
        for group in ("B", "U"):  # the paired difference needs the same tasks on both sides
            if set(rec[f"{group}_adapter"]) != set(rec[f"{group}_control"]):
                raise ValueError(f"seed {rec['seed']}: {group}_adapter and {group}_control ran other tasks")
    return {**{k: results[-1].get(k) for k in ("bench", "date", "cpu", "software")}, "commit": commits.pop(),
            "complete": True, "plan": {**first, "part": "all", "seeds": sorted(by_seed)},
            # run and training ids in `seeds` are rows of the database of the part that ran them
            "parts": [{"part": r["plan"].get("part", "all"), "seeds": [x["seed"] for x in r["seeds"]],
                       "database": r.get("database")} for r in results],
            "summary": summarize(seeds), "seeds": seeds}


def summarize(seeds: list[dict]) -> dict:
    """Mean pass@n / pass@2 per run kind, and the paired per-task difference adapter - control with
    a paired bootstrap 95% interval over tasks and the difference of each seed."""
    out: dict = {}
    for kind in ("A", "B_adapter", "B_control", "U_adapter", "U_control"):
        for metric in ("pass_n", "pass_2"):
            per_seed = [sum(t[metric] for t in s[kind].values()) / max(len(s[kind]), 1) for s in seeds]
            out[f"{kind}.{metric}"] = {"per_seed": per_seed, "mean": sum(per_seed) / len(per_seed)}
    for group in ("B", "U"):
        for metric in ("pass_n", "pass_2"):
            tasks = sorted(seeds[0][f"{group}_adapter"])
            # diffs[seed][task]: adapter minus control, 1, 0 or -1
            diffs = [[s[f"{group}_adapter"][t][metric] - s[f"{group}_control"][t][metric] for t in tasks]
                     for s in seeds]
            per_task = [sum(col) / len(seeds) for col in zip(*diffs)]
            # resampling tasks (each the mean over seeds): the interval the README quotes
            mean, low, high = paired_bootstrap(per_task, [0.0] * len(per_task)) if tasks else (0.0,) * 3
            out[f"{group}.paired.{metric}"] = {
                "mean_difference": mean, "tasks_better": sum(d > 0 for d in per_task),
                "tasks_worse": sum(d < 0 for d in per_task), "ci95": [low, high],
                "per_seed_difference": [sum(row) / max(len(tasks), 1) for row in diffs]}
    return out


def main(argv: list[str] | None = None) -> None:
    """`python3 -m arcfarm.bench.learn_history_bench ...` (or `--merge PART.json ... --out X`)."""
    import argparse
    import sys

    from arcfarm.settings import get_settings

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--tasks", type=Path, default=Path("data/toy/heldout.jsonl"))
    ap.add_argument("--unseen-tasks", type=Path, default=None)
    ap.add_argument("--seen-kinds", default="objects,pixels,small,dense")
    ap.add_argument("--unseen-kinds", default="enclosures")
    ap.add_argument("--limit", type=int, default=100)
    ap.add_argument("--budget", type=int, default=128)
    ap.add_argument("--seeds", default="0,1,2")
    ap.add_argument("--config", "-c", default="toy-cpu")
    ap.add_argument("--set", dest="sets", action="append", default=[])
    ap.add_argument("--policy", default="top8")
    ap.add_argument("--part", default="all", choices=sorted(PARTS))
    ap.add_argument("--merge", type=Path, nargs="+", help="join these part results instead of running")
    ap.add_argument("--out", type=Path, required=True)
    a = ap.parse_args(argv)

    def write(res: dict) -> None:  # the same file after every run, so a killed call keeps its runs
        a.out.parent.mkdir(parents=True, exist_ok=True)
        a.out.write_text(json.dumps(res, indent=2))

    try:
        if a.merge:
            write(merge([_load(p) for p in a.merge]))
            return
        plan = Plan(tasks_file=a.tasks, seen_kinds=parse_kinds(a.seen_kinds),
                    unseen_kinds=parse_kinds(a.unseen_kinds), limit=a.limit, budget=a.budget,
                    seeds=parse_seeds(a.seeds), config=a.config, sets=a.sets, policy=a.policy,
                    unseen_file=a.unseen_tasks, part=a.part)
        groups(plan)
    except (ValueError, OSError) as exc:
        raise SystemExit(f"error: {exc}") from None
    write(run(plan, get_settings(), log=lambda m: print(m, file=sys.stderr, flush=True), checkpoint=write))


def _load(path: Path) -> dict:
    try:
        return json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise ValueError(f"{path}: {exc}") from None


def parse_seeds(text: str) -> list[int]:
    try:
        return [int(x) for x in text.split(",")]
    except ValueError:
        raise ValueError(f"seeds must be comma-separated integers, got {text!r}") from None


def parse_kinds(text: str) -> list[str]:
    """Comma-separated kinds; empty means every task of the file."""
    return [k for k in text.split(",") if k]


if __name__ == "__main__":
    main()
