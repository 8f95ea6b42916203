"""`arcfarm bench ui`: server time of the dashboard's pages on a big run (no browser, no worker).

On a throwaway PostgreSQL database (created, migrated, dropped), `db.bulk.synthetic_run` writes
a finished run of 400 tasks with 1,250 predictions each (500,000 rows) and 4 epochs per task;
then the dashboard's pages are requested in-process (Starlette's TestClient: routing, every
query, template rendering; no network) and the median of 10 requests after a warm one is kept:
- run_page_ms: /ui/runs/{id}, the run page (task table, four charts). Target < 300 ms.
- runs_page_ms: /ui/, task_page_ms: /ui/runs/{id}/tasks/{task_id}.
`--quick` uses 40 tasks x 250 predictions (seconds; the CI test).
"""
from __future__ import annotations

import os
import secrets
import statistics
import time
from importlib import metadata
from typing import Callable

import sqlalchemy as sa

from arcfarm.bench.exec_bench import machine_info

PG_SERVER = "postgresql+psycopg://postgres@127.0.0.1:5432"
TARGETS = {"run_page_ms": 300.0}


def _median_ms(call: Callable[[], object], repeats: int = 10) -> float:
    call()  # warm: plans cached, pages in memory
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        call()
        times.append((time.perf_counter() - t0) * 1000)
    return round(statistics.median(times), 2)


def _epochs(session, run_id: int, n_epochs: int = 4) -> None:
    """Epoch rows for every job (synthetic_run writes none): what epoch_stats reads."""
    session.execute(sa.text(
        "INSERT INTO epochs (job_id, epoch, predictions, valid, unique_outputs, relabeled, train_loss, "
        "best_train_correct, passes_train, sample_s, execute_s, relabel_s, train_s, reset_s, train_tokens, created_at) "
        "SELECT j.id, e, j.n_predictions / :n, j.n_predictions / :n - 10, 20, 15, 0.5, 1, 3, "
        "30.0, 5.0, 0.1, CASE WHEN e > 0 THEN 40.0 ELSE 0 END, 0.1, 1000, now() "
        "FROM jobs j CROSS JOIN generate_series(0, :n - 1) e WHERE j.run_id = :run"),
        {"run": run_id, "n": n_epochs})
    session.commit()


def run(quick: bool = False, pg_server: str = PG_SERVER, log=print) -> dict:
    from arcfarm.db import migrate

    name = f"arcfarm_bench_{secrets.token_hex(4)}"
    admin = sa.create_engine(f"{pg_server}/postgres", isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
        pg_version = conn.scalar(sa.text("SHOW server_version"))
    try:
        migrate.upgrade(f"{pg_server}/{name}")
        results = _measure(f"{pg_server}/{name}", quick, log)
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
    versions = {n: metadata.version(n) for n in ("sqlalchemy", "psycopg", "fastapi", "jinja2")}
    return {"bench": "ui", "quick": quick, "results": results, "targets": TARGETS,
            "meets_targets": {k: results[k] < v for k, v in TARGETS.items()},
            "machine": {**machine_info(), "postgres": pg_version, "load_average_1m": round(os.getloadavg()[0], 2),
                        **versions}}


def _measure(db_url: str, quick: bool, log) -> dict:
    from fastapi.testclient import TestClient

    from arcfarm.api.main import create_app
    from arcfarm.db import bulk
    from arcfarm.db.connection import make_db_engine, make_session_factory
    from arcfarm.db.status import JobStatus
    from arcfarm.settings import get_settings

    n_tasks, per_task = (40, 250) if quick else (400, 1250)
    settings = get_settings({"ARCFARM_DATABASE_URL": db_url})  # no broker: nothing is sent
    engine = make_db_engine(db_url)
    factory = make_session_factory(engine)
    t0 = time.perf_counter()
    with factory() as s:
        run_id = bulk.synthetic_run(session=s, jobs=n_tasks, predictions_per_job=per_task,
                                    status=JobStatus.DONE, tag="ui")
        _epochs(s, run_id)
        s.execute(sa.text("ANALYZE"))
        s.commit()
        task_id = s.scalar(sa.text("SELECT task_id FROM task_results WHERE run_id = :r ORDER BY task_id "
                                   "LIMIT 1"), {"r": run_id})
    out: dict = {"tasks": n_tasks, "prediction_rows": n_tasks * per_task,
                 "build_s": round(time.perf_counter() - t0, 2)}
    log(f"built a run of {n_tasks} tasks, {n_tasks * per_task} predictions in {out['build_s']} s")
    with TestClient(create_app(settings), client=("127.0.0.1", 50000)) as client:  # a loopback client
        page = client.get(f"/ui/runs/{run_id}")
        assert page.status_code == 200 and page.text.count("<tr data-task=") == n_tasks, page.text[:500]
        out["run_page_ms"] = _median_ms(lambda: client.get(f"/ui/runs/{run_id}"))
        out["run_page_bytes"] = len(page.content)
        out["runs_page_ms"] = _median_ms(lambda: client.get("/ui/"))
        out["task_page_ms"] = _median_ms(lambda: client.get(f"/ui/runs/{run_id}/tasks/{task_id}"))
    log(f"run page {out['run_page_ms']} ms, runs page {out['runs_page_ms']} ms, "
        f"task page {out['task_page_ms']} ms (median of 10)")
    engine.dispose()
    return out
