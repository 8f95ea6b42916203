"""`arcfarm bench farm`: how the farm's database and API hold up under load (no GPU, no worker).

Measures, on a throwaway PostgreSQL database (created, migrated, dropped) and a Redis db:
- enqueue_400_s: POST /runs with arc-agi-1/evaluation (400 tasks) in one request: tasks,
  solutions, run and jobs in one transaction, then 400 Celery messages; the median of 5
  requests (enqueue_400_first_s: the first, which also parses the dataset and stores the tasks;
  later runs of the same dataset reuse the stored tasks). Target < 1 s.
- get_run_10k_queued_ms: GET /runs/{id} on a run of 10,000 queued jobs (median). Target < 100 ms.
- status_1m_predictions_ms: GET /runs/{id} on a finished run of 1,000 jobs x 1,000 predictions
  (median), and the same through `reads.run_progress` directly. Target < 100 ms.
`--quick` uses 40 tasks, 1,000 jobs and 20 x 1,000 predictions (seconds; the CI test).
"""
from __future__ import annotations

import secrets
import statistics
import time
from importlib import metadata
from typing import Callable

import sqlalchemy as sa

from arcfarm.bench.exec_bench import machine_info

PG_SERVER = "postgresql+psycopg://postgres@127.0.0.1:5432"
REDIS_URL = "redis://127.0.0.1:6379/14"
TARGETS = {"enqueue_400_s": 1.0, "get_run_10k_queued_ms": 100.0, "status_1m_predictions_ms": 100.0}


def _median_ms(call: Callable[[], object], repeats: int) -> float:
    call()  # warm: plans cached, pages in memory
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        call()
        times.append((time.perf_counter() - t0) * 1000)
    return round(statistics.median(times), 2)


def _versions() -> dict:
    names = ("sqlalchemy", "psycopg", "celery", "kombu", "redis", "fastapi")
    out = {n: metadata.version(n) for n in names}
    return out


def run(quick: bool = False, pg_server: str = PG_SERVER, redis_url: str = REDIS_URL,
        log=print) -> dict:
    from arcfarm.db import migrate

    name = f"arcfarm_bench_{secrets.token_hex(4)}"
    admin = sa.create_engine(f"{pg_server}/postgres", isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
        pg_version = conn.scalar(sa.text("SHOW server_version"))
    queue = f"arcfarm-bench-{secrets.token_hex(4)}"
    try:
        migrate.upgrade(f"{pg_server}/{name}")
        results = _measure(f"{pg_server}/{name}", redis_url, queue, quick, log)
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
        _drop_queue(redis_url, queue)
    return {"bench": "farm", "quick": quick, "results": results, "targets": TARGETS,
            "meets_targets": {k: results[k] < v for k, v in TARGETS.items()},
            "machine": {**machine_info(), "postgres": pg_version, **_versions()}}


def _drop_queue(redis_url: str, queue: str) -> None:
    import redis

    client = redis.Redis.from_url(redis_url)
    for key in client.scan_iter(f"{queue}*"):
        client.delete(key)
    client.close()


def _measure(db_url: str, redis_url: str, queue: str, quick: bool, log) -> dict:
    from fastapi.testclient import TestClient

    from arcfarm.api.main import create_app
    from arcfarm.db import bulk, reads
    from arcfarm.db.connection import make_db_engine, make_session_factory
    from arcfarm.db.status import JobStatus
    from arcfarm.settings import get_settings

    settings = get_settings({"ARCFARM_DATABASE_URL": db_url, "ARCFARM_BROKER_URL": redis_url})
    n_tasks, n_queued, (n_jobs, per_job) = (40, 1000, (20, 1000)) if quick else \
        (400, 10_000, (1000, 1000))
    engine = make_db_engine(db_url)
    factory = make_session_factory(engine)
    out: dict = {}
    with TestClient(create_app(settings)) as client:
        body = {"dataset": "arc-agi-1/evaluation", "config": "tiny-cpu", "queue": queue,
                "limit": n_tasks}
        times = []
        for _ in range(5):
            t0 = time.perf_counter()
            r = client.post("/runs", json=body)
            times.append(time.perf_counter() - t0)
            assert r.status_code == 201 and r.json()["jobs"] == n_tasks, r.text
        out.update(enqueue_tasks=n_tasks, enqueue_400_s=round(statistics.median(times), 3),
                   enqueue_400_first_s=round(times[0], 3), enqueue_400_best_s=round(min(times), 3))
        log(f"enqueue {n_tasks} tasks: {times[0]:.3f} s first (dataset parsed, tasks new), "
            f"{statistics.median(times):.3f} s median of {len(times)}")

        with factory() as s:
            queued = bulk.synthetic_run(session=s, jobs=n_queued, tag="queued")
        out["queued_jobs"] = n_queued
        out["get_run_10k_queued_ms"] = _median_ms(lambda: client.get(f"/runs/{queued}"), 20)
        log(f"GET /runs/id with {n_queued} queued jobs: {out['get_run_10k_queued_ms']} ms")

        t0 = time.perf_counter()
        with factory() as s:
            big = bulk.synthetic_run(session=s, jobs=n_jobs, predictions_per_job=per_job,
                                     status=JobStatus.DONE, tag="big")
            s.execute(sa.text("ANALYZE"))
            s.commit()
        out["prediction_rows"] = n_jobs * per_job
        out["insert_predictions_s"] = round(time.perf_counter() - t0, 2)
        out["status_1m_predictions_ms"] = _median_ms(lambda: client.get(f"/runs/{big}"), 20)

        def progress():
            with factory() as s:
                return reads.run_progress(session=s, run_id=big)
        out["run_progress_1m_predictions_ms"] = _median_ms(progress, 20)
        log(f"status with {n_jobs * per_job} predictions: {out['status_1m_predictions_ms']} ms "
            f"(API), {out['run_progress_1m_predictions_ms']} ms (reads.run_progress)")
    engine.dispose()
    return out
