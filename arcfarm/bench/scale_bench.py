"""`arcfarm bench scale`: what the queue and the database cost per job, and how far they scale.

    arcfarm bench scale --json                 # (a) 8/16/32/64 stand-in workers, real Postgres + Redis
    arcfarm bench scale --quick --json         # (a) 2/4 workers, short tasks (CI)
    arcfarm bench scale --gpu --json           # (b) tasks/hour with 1 and 2 GPUs (GPU machine only)

(a) simulated: needs ARCFARM_DATABASE_URL and ARCFARM_BROKER_URL. It starts the largest level's
number of real Celery workers (arcfarm.bench.scale_worker: solo pool, the runner's database
calls with rows of the real size, a sleep where the GPU would work); worker i listens on the
queue of every level larger than i, so one start serves all levels. For each level it queues a
run of `jobs_per_worker` jobs per worker, largest first, and measures per job: database time
(every write the runner makes: claim, 4 heartbeats, 4 epochs of 128 predictions, 3 adapter rows,
attempts), queue time (the gap between a worker's jobs: ack, fetch, deliver), and their sum as
a fraction of the task. At 60-second tasks the per-job overhead is the same, plus one heartbeat
per ARCFARM_HEARTBEAT_S. A level "saturates" when its overhead exceeds twice the smallest
level's: Postgres or Redis (or this machine's cores, shared with every worker) is the limit.

(b) gpu: arcfarm.bench.scale_gpu (needs no database or broker); `write` merges its result here.
"""
from __future__ import annotations

import json
import os
import secrets
import signal
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from arcfarm.bench.machine import cpu_model, git_commit, today


@dataclass
class SimPlan:
    levels: tuple[int, ...] = (8, 16, 32, 64)
    task_s: float = 2.0
    jobs_per_worker: int = 3


QUICK = SimPlan(levels=(2, 4), task_s=1.0, jobs_per_worker=2)


# --- (a) simulated workers -------------------------------------------------------------------

def _tasks(n: int, seed: int) -> list:
    """n distinct ARC-shaped tasks (3 train pairs and a test input of 6..12 cells a side)."""
    import random

    from arcfarm.arc.tasks import parse_task

    rng = random.Random(seed)

    def grid(side):
        return [[rng.randrange(10) for _ in range(side)] for _ in range(side)]
    out = []
    for i in range(n):
        side = rng.randrange(6, 13)
        obj = {"train": [{"input": grid(side), "output": grid(side)} for _ in range(3)],
               "test": [{"input": grid(side)}]}
        out.append(parse_task(f"scale-{seed}-{i}", obj)[0])
    return out


def _start_workers(n: int, levels: tuple[int, ...], prefix: str, bench_dir: Path,
                   env: dict[str, str]) -> list[subprocess.Popen]:
    procs = []
    for i in range(n):
        queues = ",".join(f"{prefix}-{level}" for level in levels if i < level)
        child_env = {**env, "ARCFARM_BENCH_DIR": str(bench_dir),
                     "ARCFARM_WORKER_NAME": f"bench{i}@{os.uname().nodename}",
                     "CUDA_VISIBLE_DEVICES": ""}
        cmd = [sys.executable, "-m", "celery", "-A", "arcfarm.bench.scale_worker:app", "worker",
               "--pool", "solo", "--concurrency", "1", "-Q", queues, "-n", f"bench{i}@%h",
               "--loglevel", "warning", "--without-gossip", "--without-mingle", "--without-heartbeat"]
        procs.append(subprocess.Popen(cmd, env=child_env, stdout=subprocess.DEVNULL,
                                      stderr=open(bench_dir / f"worker-{i}.log", "w")))
    return procs


def _wait(condition: Callable[[], Any], timeout: float, what: str, procs=()) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        if any(p.poll() is not None for p in procs):
            raise RuntimeError(f"a bench worker exited while waiting for {what}")
        time.sleep(0.2)
    raise TimeoutError(f"timed out after {timeout:.0f} s waiting for {what}")


def _stop(procs: list[subprocess.Popen]) -> None:
    for p in procs:
        if p.poll() is None:
            p.send_signal(signal.SIGTERM)
    for p in procs:
        try:
            p.wait(timeout=30)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()


def _level(settings, sessions, level: int, plan: SimPlan, prefix: str, bench_dir: Path,
           procs, log) -> dict:
    """Queue one run for this level's workers, wait for it, summarise its jobs' timings."""
    import sqlalchemy as sa

    from arcfarm.db import reads, writes
    from arcfarm.jobs.broker import message_priority
    from arcfarm.learn.config import load_config
    from arcfarm.workers.celery_app import make_celery

    n_jobs = level * plan.jobs_per_worker
    with sessions() as s:
        size0 = s.scalar(sa.text("SELECT pg_database_size(current_database())"))
        run_id = writes.create_run(session=s, name=f"scale-{level}", config=load_config("tiny-cpu")
                                   .model_dump(mode="json"), model="standin", code_version="bench",
                                   dataset="scale", tasks=[(t, None) for t in _tasks(n_jobs, level)],
                                   queue=f"{prefix}-{level}")
        jobs = [j for j in reads.queued_jobs(session=s) if j.run_id == run_id]
    app = make_celery(settings)
    t0 = time.time()
    with app.producer_or_acquire() as producer:
        for j in jobs:  # largest expected cost first, as enqueue_run sends them
            app.send_task("arcfarm.bench.standin_job", args=[j.job_id, plan.task_s],
                          queue=j.queue, priority=message_priority(0), producer=producer)
    app.close()

    ids = {j.job_id for j in jobs}

    def finished():
        # A worker writes its timing line just after finish_job commits: wait for both, or the
        # last job of a level can be done in the database but not yet in the timings.
        with sessions() as s:
            done = s.scalar(sa.text("SELECT count(*) FROM jobs WHERE run_id = :r AND status = 'done'"),
                            {"r": run_id})
        return done == n_jobs and len(_timings(bench_dir, ids)) == n_jobs
    _wait(finished, 60 + 4 * plan.task_s * plan.jobs_per_worker * 10, f"level {level}", procs)
    makespan = time.time() - t0
    with sessions() as s:
        size1 = s.scalar(sa.text("SELECT pg_database_size(current_database())"))
    return _summarise(level, plan, _timings(bench_dir, ids), makespan, (size1 - size0) / n_jobs, log)


def _timings(bench_dir: Path, ids: set[int]) -> list[dict]:
    """The timing lines of these jobs, each tagged with its worker (file); a line still being
    written (no newline yet) is left for the next look."""
    rows = []
    for f in bench_dir.glob("*.jsonl"):
        text = f.read_text()
        complete = text[:text.rfind("\n") + 1]
        rows += [{**r, "worker": f.stem} for r in map(json.loads, complete.splitlines())
                 if r["job_id"] in ids]
    return rows


def _gaps(rows: list[dict]) -> list[float]:
    """Per worker (file), the idle time between one job's end and the next one's start."""
    by_worker: dict[int, list[dict]] = {}
    for r in rows:
        by_worker.setdefault(r["worker"], []).append(r)
    gaps = []
    for jobs in by_worker.values():
        jobs.sort(key=lambda r: r["start"])
        gaps += [b["start"] - a["end"] for a, b in zip(jobs, jobs[1:])]
    return gaps


def _summarise(level: int, plan: SimPlan, rows: list[dict], makespan: float,
               bytes_per_job: float, log) -> dict:
    from arcfarm.settings import get_settings

    db_ms = [1000 * r["db_s"] for r in rows]
    gaps_ms = [1000 * g for g in _gaps(rows)]
    from arcfarm.bench.scale_worker import EPOCHS

    heartbeat_ms = statistics.mean(1000 * r["db_by_call_s"].get("heartbeat", 0) / EPOCHS for r in rows)
    by_call = {name: round(statistics.mean(1000 * r["db_by_call_s"].get(name, 0) for r in rows), 1)
               for name in ("claim_job", "heartbeat", "record_epoch", "finish_job")}
    db_mean = statistics.mean(db_ms)
    queue_mean = statistics.mean(gaps_ms) if gaps_ms else 0.0
    overhead = db_mean + queue_mean
    extra_beats = 60.0 / get_settings().heartbeat_s  # the heartbeat thread, over a 60 s task
    overhead_60 = overhead + extra_beats * heartbeat_ms
    ideal = plan.jobs_per_worker * plan.task_s
    out = {"workers": level, "jobs": len(rows), "task_s": plan.task_s,
           "db_ms_per_job": round(db_mean, 1), "db_ms_p95": round(_p95(db_ms), 1),
           "db_ms_by_call": by_call,
           "queue_ms_per_job": round(queue_mean, 1), "queue_ms_p95": round(_p95(gaps_ms), 1),
           "overhead_ms_per_job": round(overhead, 1),
           "overhead_fraction_at_task_s": round(overhead / (1000 * plan.task_s), 4),
           "overhead_ms_per_job_60s": round(overhead_60, 1),
           "overhead_fraction_60s": round(overhead_60 / 60_000, 5),
           "jobs_per_s": round(len(rows) / makespan, 2), "makespan_s": round(makespan, 2),
           "ideal_makespan_s": ideal, "pg_bytes_per_job": int(bytes_per_job)}
    log(f"{level:3d} workers: db {db_mean:7.1f} ms/job, queue {queue_mean:6.1f} ms/job, "
        f"{100 * overhead / (1000 * plan.task_s):5.2f}% of a {plan.task_s:g} s task, "
        f"{100 * overhead_60 / 60_000:6.3f}% of a 60 s task; {out['jobs_per_s']} jobs/s")
    return out


def _p95(values: list[float]) -> float:
    if not values:
        return 0.0
    values = sorted(values)
    return values[min(len(values) - 1, int(0.95 * len(values)))]


def run_simulated(plan: SimPlan, log=print, workdir: Path | None = None) -> dict:
    """Part (a) against $ARCFARM_DATABASE_URL and $ARCFARM_BROKER_URL (both required)."""
    import tempfile

    from arcfarm.db.connection import make_db_engine, make_session_factory
    from arcfarm.settings import SettingsError, get_settings

    settings = get_settings()
    if settings.embedded or not settings.database_url:
        raise SettingsError("bench scale needs ARCFARM_DATABASE_URL and ARCFARM_BROKER_URL")
    engine = make_db_engine(settings.db_url)
    sessions = make_session_factory(engine)
    prefix = f"arcfarm-bench-{secrets.token_hex(3)}"
    with tempfile.TemporaryDirectory(prefix="arcfarm-scale-", dir=workdir) as tmp:
        bench_dir = Path(tmp)
        top = max(plan.levels)
        t0 = time.monotonic()
        procs = _start_workers(top, plan.levels, prefix, bench_dir, dict(os.environ))
        try:
            _wait(lambda: len(list(bench_dir.glob("ready-*"))) >= top, 60 + 3 * top,
                  f"{top} workers to start", procs)
            log(f"{top} stand-in workers ready in {time.monotonic() - t0:.1f} s")
            _warm_up(settings, sessions, plan, prefix, bench_dir, procs, log)
            levels = [_level(settings, sessions, n, plan, prefix, bench_dir, procs, log)
                      for n in plan.levels]
        finally:
            _stop(procs)
            _forget_queues(settings, prefix)
            engine.dispose()
    return _simulated_result(plan, levels)


def _warm_up(settings, sessions, plan: SimPlan, prefix: str, bench_dir: Path, procs, log) -> None:
    """Unmeasured short jobs on the largest level's queue (every worker listens to it) until each
    worker has run one, before the levels: a process's first job pays once-per-process costs
    (SQLAlchemy compiling each statement, mapper set-up, the connection and its server backend's
    catalog caches), ~200 ms when all workers start at once; a farm worker runs hundreds of
    jobs, so they are not a per-job overhead."""
    t0, top = time.monotonic(), max(plan.levels)
    warm = SimPlan(levels=plan.levels, task_s=min(plan.task_s, 0.4), jobs_per_worker=1)
    for _ in range(3):  # Redis hands one job to each idle worker in turn: one round is the rule
        _level(settings, sessions, top, warm, prefix, bench_dir, procs, lambda _: None)
        warmed = len(list(bench_dir.glob("*.jsonl")))  # one timing file per worker process
        if warmed >= top:
            break
    log(f"warm-up: {warmed} of {top} workers ran an unmeasured job ({time.monotonic() - t0:.1f} s)")


def _forget_queues(settings, prefix: str) -> None:
    import redis

    client = redis.Redis.from_url(settings.broker_url)
    for key in client.scan_iter(f"{prefix}*"):
        client.delete(key)
    client.close()


def _simulated_result(plan: SimPlan, levels: list[dict]) -> dict:
    """Headline: the smallest level (least contention for this machine's cores); saturation: the
    first level whose per-job overhead is over twice the smallest level's."""
    first = levels[0]
    saturated = next((lv["workers"] for lv in levels
                      if lv["overhead_ms_per_job"] > 2 * first["overhead_ms_per_job"]), None)
    healthy = [lv for lv in levels if saturated is None or lv["workers"] < saturated]
    return {
        "date": today(),
        "workers": first["workers"],
        "overhead_ms_per_job": first["overhead_ms_per_job"],
        "overhead_fraction_60s": first["overhead_fraction_60s"],
        "task_s": plan.task_s, "jobs_per_worker": plan.jobs_per_worker,
        "saturated_at_workers": saturated,
        "max_workers_unsaturated_measured": healthy[-1]["workers"],
        # At 60 s tasks each worker asks 1/60 jobs/s of Postgres+Redis; the best throughput
        # measured before saturation bounds how many such workers this machine can feed.
        "max_workers_60s_estimate": int(max(lv["jobs_per_s"] for lv in healthy) * 60),
        "levels": levels,
    }


# --- results ---------------------------------------------------------------------------------

def write(path: Path, simulated: dict | None = None, gpu: dict | None = None,
          gpu_reason: str | None = None, gpu_shared: dict | None = None) -> dict:
    """Merge this run's parts into the result file; a part not run keeps its old value.
    `gpu` is workers on distinct GPUs (the scaling the issue asks for); `gpu_shared` is several
    workers on the same GPU(s), kept apart so that it is never read as multi-GPU scaling."""
    old = json.loads(path.read_text()) if path.exists() else {}
    result = {"date": old.get("date", today()), "machine": old.get("machine", machine()),
              "simulated": old.get("simulated"), "gpu": old.get("gpu"),
              **({"gpu_reason": old["gpu_reason"]} if "gpu_reason" in old else {}),
              **({"gpu_shared": old["gpu_shared"]} if "gpu_shared" in old else {})}
    if simulated is not None:
        result["simulated"], result["machine"] = simulated, machine()
    if gpu is not None:
        result["gpu"] = gpu
        result.pop("gpu_reason", None)
    elif result["gpu"] is None:
        result["gpu_reason"] = gpu_reason or result.get("gpu_reason") or "not run: needs a machine with 2 GPUs"
    if gpu_shared is not None:
        result["gpu_shared"] = gpu_shared
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(result, indent=2) + "\n")
    return result


def machine() -> dict:
    return {"cpu": cpu_model(), "git_commit": git_commit(), "cores": os.cpu_count(), "python": sys.version.split()[0]}
