"""Faults on a real farm: PostgreSQL, Redis and `celery worker` processes on the tiny CPU model.

- a worker SIGKILLed mid-job: another worker resumes at the last committed epoch;
- Redis flushed mid-run: the workers' periodic reconcile re-sends what PostgreSQL says is owed;
- a poison job is failed after ARCFARM_MAX_DELIVERIES while its run's other jobs finish;
- sampling out of memory halves the batch down to 1, then fails the job clearly; training out
  of memory keeps the previous adapter and says so in the epoch row;
- POST /runs/{id}/cancel stops queued jobs at once and the running one at its next epoch.
"""
from __future__ import annotations

import secrets

import pytest
import redis

from reliability_db import farm_env
from reliability_helpers import (
    no_duplicates,
    row_counts,
    rows,
    run_finished,
    submit,
    task,
    wait_for,
)

pytestmark = pytest.mark.slow


def _queue() -> str:
    return f"arcfarm-rel-{secrets.token_hex(4)}"


def _job(session_factory, run_id: int, task_id: str | None = None) -> dict:
    sql = ("SELECT j.*, t.task_id FROM jobs j JOIN tasks t ON t.id = j.task_pk WHERE j.run_id = :r"
           + (" AND t.task_id = :t" if task_id else "") + " ORDER BY j.id LIMIT 1")
    return rows(session_factory, sql, r=run_id, t=task_id)[0]


def _count(session_factory, table: str, job_id: int) -> int:
    return rows(session_factory, f"SELECT COUNT(*) n FROM {table} WHERE job_id = :j", j=job_id)[0]["n"]


def test_killed_worker_is_resumed_by_another_from_the_last_epoch(
        rel_client, rel_env, rel_session_factory, start_worker, tiny_model_dir):
    queue = _queue()
    a = start_worker(rel_env, queue, "worker-a")
    b = start_worker(rel_env, queue, "worker-b")
    run_id = submit(rel_client, {"long": task()}, queue, tiny_model_dir, name="kill",
                    max_epochs=4, initial_predictions=4, predictions_per_epoch=4,
                    max_new_tokens=48)
    # Wait until epoch 1 is committed (so epoch 2 is running), then kill whoever runs the job.
    job = wait_for(lambda: (lambda j: j if j["epochs_done"] >= 1 else None)(
        _job(rel_session_factory, run_id)), 240, "epoch 1 to be committed", a, b, interval=0.02)
    victim, survivor = (a, b) if job["worker_name"] == "worker-a" else (b, a)
    victim.kill()
    killed = _job(rel_session_factory, run_id)
    committed = killed["epochs_done"]
    assert 1 <= committed < 4 and killed["status"] == "running"
    kept = rows(rel_session_factory, "SELECT id, sample_index, response FROM predictions "
                "WHERE job_id = :j ORDER BY sample_index", j=killed["id"])

    run = wait_for(run_finished(rel_client, run_id, survivor), 300, "the resumed run", survivor)
    assert run["status"] == "done"
    job = _job(rel_session_factory, run_id)
    assert (job["status"], job["worker_name"]) == ("done", survivor.name)
    assert (job["delivery_count"], job["resumed_from_epoch"], job["failed_deliveries"]) == \
           (2, committed, 0)
    assert [_count(rel_session_factory, t, job["id"]) for t in ("epochs", "predictions", "adapters")] \
        == [5, 4 + 4 * 4, 4]
    no_duplicates(rel_session_factory, run_id)
    after = rows(rel_session_factory, "SELECT id, sample_index, response FROM predictions "
                 "WHERE job_id = :j AND sample_index < :n ORDER BY sample_index",
                 j=job["id"], n=len(kept))
    assert after == kept  # what was committed before the kill was kept, not redone
    assert f"job {job['id']}: resuming after epoch {committed}" in survivor.log.read_text()
    detail = rel_client.get(f"/runs/{run_id}/tasks/long").json()["job"]
    assert (detail["delivery_count"], detail["resumed_from_epoch"]) == (2, committed)


def test_flushed_broker_is_refilled_from_postgres(rel_client, rel_env, rel_redis_url,
                                                  rel_session_factory, start_worker,
                                                  tiny_model_dir):
    queue = _queue()
    worker = start_worker(rel_env, queue, "worker-flush")
    tasks = {"f1": task(), "f2": task("same"), "f3": task()}
    run_id = submit(rel_client, tasks, queue, tiny_model_dir, name="flush", max_epochs=2)
    wait_for(lambda: rel_client.get(f"/runs/{run_id}").json()["jobs"]["running"] == 1, 240,
             "a job to start", worker, interval=0.05)
    client = redis.Redis.from_url(rel_redis_url)
    assert client.flushdb()  # every message, bookkeeping key and binding of this db is gone
    client.close()
    run = wait_for(run_finished(rel_client, run_id, worker), 300, "the run after the flush", worker)
    assert run["status"] == "done" and run["jobs"]["done"] == 3
    assert run["predictions"] == 3 * (2 + 2 * 2)
    no_duplicates(rel_session_factory, run_id)
    assert "reconcile re-sent queued jobs" in worker.log.read_text()


def test_poison_and_out_of_memory_jobs(rel_client, rel_env, rel_session_factory, start_worker,
                                       tiny_model_dir):
    """One run, one worker: a poison task, OOM in sampling (recoverable and not), OOM in
    training, and a healthy task. The run ends; each job says what happened to it."""
    queue = _queue()
    env = {**rel_env, "ARCFARM_MAX_DELIVERIES": "2"}
    worker = start_worker(env, queue, "worker-faults")
    tasks = {"poison": task(), "oom-sample": task(), "oom-always": task(), "oom-train": task(),
             "healthy": task("same")}
    run_id = submit(rel_client, tasks, queue, tiny_model_dir, name="faults")
    run = wait_for(run_finished(rel_client, run_id, worker), 300, "the faulty run", worker)
    assert run["status"] == "done"  # every job has ended
    assert run["jobs"] == {"queued": 0, "running": 0, "done": 3, "failed": 2, "cancelled": 0}
    jobs = {t: _job(rel_session_factory, run_id, t) for t in tasks}

    poison = jobs["poison"]
    assert (poison["status"], poison["delivery_count"], poison["failed_deliveries"]) == ("failed", 2, 2)
    assert "injected model failure (poison task)" in poison["error"]

    always = jobs["oom-always"]
    assert always["status"] == "failed"
    assert "sampling ran out of memory even at batch size 1" in always["error"]
    assert "'oom-always' epoch 0" in always["error"]

    assert jobs["oom-sample"]["status"] == "done" and jobs["oom-sample"]["n_predictions"] == 4
    log = worker.log.read_text()
    assert "sampling out of memory at batch size 2; retrying with 1" in log

    train = jobs["oom-train"]
    assert train["status"] == "done"
    epochs = rows(rel_session_factory, "SELECT epoch, train_error, train_loss FROM epochs "
                  "WHERE job_id = :j ORDER BY epoch", j=train["id"])
    assert epochs[1]["train_error"].startswith("OutOfMemoryError") and epochs[1]["train_loss"] is None
    assert "training out of memory; retrying with batch_tokens" in log
    assert _count(rel_session_factory, "adapters", train["id"]) == 1  # the kept (fresh) adapter

    assert jobs["healthy"]["status"] == "done" and jobs["healthy"]["error"] is None
    no_duplicates(rel_session_factory, run_id)


def test_cancel_stops_queued_jobs_at_once_and_running_ones_at_an_epoch_boundary(
        rel_client, rel_env, rel_session_factory, start_worker, tiny_model_dir):
    queue = _queue()
    worker = start_worker(rel_env, queue, "worker-cancel")
    tasks = {"c1": task(), "c2": task(), "c3": task("same")}
    run_id = submit(rel_client, tasks, queue, tiny_model_dir, name="cancel", max_epochs=8)
    running = wait_for(lambda: [j for j in rows(rel_session_factory, "SELECT * FROM jobs WHERE "
                                                "run_id = :r AND epochs_done >= 0", r=run_id)],
                       240, "the first epoch", worker, interval=0.05)[0]
    before = row_counts(rel_session_factory)
    r = rel_client.post(f"/runs/{run_id}/cancel")
    assert r.status_code == 200 and r.json() == {"run_id": run_id, "cancelled_jobs": 3}
    assert rel_client.get(f"/runs/{run_id}").json()["status"] == "cancelled"
    others = rows(rel_session_factory, "SELECT * FROM jobs WHERE run_id = :r AND id <> :j",
                  r=run_id, j=running["id"])
    assert [(j["status"], j["epochs_done"], j["delivery_count"]) for j in others] == \
           [("cancelled", -1, 0)] * 2

    def stopped():
        job = rows(rel_session_factory, "SELECT * FROM jobs WHERE id = :j", j=running["id"])[0]
        return job if job["stop_reason"] is not None else None
    job = wait_for(stopped, 240, "the running job to stop", worker)
    assert (job["status"], job["stop_reason"]) == ("cancelled", "cancelled")
    kept = _count(rel_session_factory, "epochs", job["id"])
    assert 1 <= kept < 9  # the epochs it ran are kept; it did not run all of them
    assert _count(rel_session_factory, "attempts", job["id"]) == 1  # its answer so far, kept
    after = row_counts(rel_session_factory)
    assert after["epochs"] >= before["epochs"] and after["predictions"] >= before["predictions"]
    for other in others:  # their messages are still delivered, and skipped
        assert _count(rel_session_factory, "epochs", other["id"]) == 0
    run = rel_client.get(f"/runs/{run_id}").json()
    assert run["status"] == "cancelled" and run["jobs"]["cancelled"] == 3


def test_worker_waits_out_a_postgres_restart(rel_redis_url, tmp_path, start_worker,
                                             tiny_model_dir):
    """Restart the whole PostgreSQL cluster while a worker is mid-job: the job still ends done,
    on its first delivery. (Its own database; every other connection reconnects by pre-ping.)"""
    import shutil
    import subprocess

    from fastapi.testclient import TestClient

    from arcfarm.api.main import create_app
    from arcfarm.db.connection import make_db_engine, make_session_factory
    from arcfarm.settings import get_settings

    from reliability_db import create_database, drop_database

    version = subprocess.run(["pg_lsclusters", "-h"], capture_output=True, text=True).stdout.split()
    if not shutil.which("pg_ctlcluster") or not version:
        pytest.skip("needs a local PostgreSQL cluster managed by pg_ctlcluster")
    url = create_database()
    env = farm_env(url, rel_redis_url, tmp_path, ARCFARM_STALE_AFTER_S="120",
                   ARCFARM_DB_RETRY_S="90", ARCFARM_API_MODELS=str(tiny_model_dir))
    queue = _queue()
    engine = make_db_engine(url)
    factory = make_session_factory(engine)
    try:
        worker = start_worker(env, queue, "worker-pg")
        with TestClient(create_app(get_settings(env))) as client:
            run_id = submit(client, {"pg": task()}, queue, tiny_model_dir, name="restart",
                            max_epochs=3, initial_predictions=4, predictions_per_epoch=4,
                            max_new_tokens=48)
            wait_for(lambda: _job(factory, run_id)["epochs_done"] >= 0, 240, "epoch 0", worker,
                     interval=0.02)
            subprocess.run(["pg_ctlcluster", "--skip-systemctl-redirect", version[0], version[1],
                            "restart"], check=True, timeout=120)
            run = wait_for(run_finished(client, run_id, worker), 300, "the run after the restart",
                           worker)
        assert run["status"] == "done"
        job = _job(factory, run_id)
        assert (job["status"], job["delivery_count"], job["failed_deliveries"]) == ("done", 1, 0)
        restarted = rows(factory, "SELECT pg_postmaster_start_time() AS t")[0]["t"]
        assert job["started_at"] < restarted < job["finished_at"]  # the restart was mid-job
        assert _count(factory, "epochs", job["id"]) == 4
        no_duplicates(factory, run_id)
    finally:
        engine.dispose()
        drop_database(url)
