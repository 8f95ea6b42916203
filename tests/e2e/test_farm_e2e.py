"""End to end on the real farm: POST /runs -> Redis -> a `celery worker` process -> PostgreSQL.

One run of two tasks on the tiny CPU model; then every table holds its rows, the submission is
complete, the researcher views agree with the epoch and prediction records the loop reported,
and a duplicate message for a finished job writes nothing.
"""
from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa
from fsspec.core import url_to_fs

from arcfarm.arc.tasks import parse_task
from arcfarm.db.status import RUN_TERMINAL
from arcfarm.jobs import submit
from arcfarm.jobs.broker import RUN_JOB
from arcfarm.learn.config import load_config
from arcfarm.workers.artifacts import WEIGHTS_FILE, ArtifactStore
from arcfarm.workers.celery_app import make_celery
from arcfarm.workers.job_runner import SolverCache, run_delivery

from farm_helpers import TASKS, row_counts, tiny_overrides, wait_for

pytestmark = pytest.mark.slow
N_PRED = 2 + 2  # initial_predictions + predictions_per_epoch (max_epochs 1)


def _rows(session_factory, sql: str, **params) -> list[dict]:
    with session_factory() as s:
        return [dict(r) for r in s.execute(sa.text(sql), params).mappings()]


def _submit_and_wait(client, worker, body) -> int:
    proc, log = worker
    r = client.post("/runs", json=body)
    assert r.status_code == 201, r.text
    run_id = r.json()["run_id"]

    def finished():
        assert proc.poll() is None, log.read_text()[-4000:]
        run = client.get(f"/runs/{run_id}").json()
        return run if run["status"] in RUN_TERMINAL else None

    run = wait_for(finished, 240, f"run {run_id} to finish", log)
    assert run["status"] == "done", run
    return run_id


@pytest.fixture(scope="module")
def farm_run(client, celery_worker, queue_name, tiny_model_dir):
    body = {"name": "e2e", "tasks": TASKS, "config": "tiny-cpu",
            "overrides": tiny_overrides(tiny_model_dir), "queue": queue_name}
    return _submit_and_wait(client, celery_worker, body)


def test_every_table_has_the_runs_rows(farm_run, session_factory):
    jobs = _rows(session_factory, "SELECT * FROM jobs WHERE run_id = :r ORDER BY id", r=farm_run)
    assert [j["status"] for j in jobs] == ["done", "done"]
    assert all(j["delivery_count"] == 1 and j["worker_name"] == "test-worker" for j in jobs)
    assert all(j["heartbeat_at"] is not None and j["seconds"] > 0 for j in jobs)
    of_run = "job_id IN (SELECT id FROM jobs WHERE run_id = :r)"
    per_table = {t: _rows(session_factory, f"SELECT COUNT(*) n FROM {t} WHERE {of_run}", r=farm_run)[0]["n"]
                 for t in ("epochs", "predictions", "adapters", "attempts")}
    assert per_table == {"epochs": 4, "predictions": 2 * N_PRED, "adapters": 2, "attempts": 1 + 2}
    tasks = _rows(session_factory, "SELECT t.id, t.task_id FROM tasks t JOIN jobs j ON j.task_pk = t.id "
                                   "WHERE j.run_id = :r", r=farm_run)
    assert sorted(t["task_id"] for t in tasks) == ["flip", "same"]
    solutions = _rows(session_factory, f"SELECT test_outputs FROM solutions WHERE task_pk IN "
                                       f"({tasks[0]['id']}, {tasks[1]['id']})")
    assert sorted(len(s["test_outputs"]) for s in solutions) == [1, 2]


def test_adapters_are_complete_files_with_their_checksum(farm_run, session_factory):
    adapters = _rows(session_factory, "SELECT a.* FROM adapters a JOIN jobs j ON j.id = a.job_id "
                                      "WHERE j.run_id = :r", r=farm_run)
    for a in adapters:
        assert a["epoch"] == 1 and a["uri"].endswith(f"/{farm_run}/{a['job_id']}/epoch-1")
        fs, path = url_to_fs(a["uri"])
        data = fs.cat_file(f"{path}/{WEIGHTS_FILE}")
        assert len(data) == a["bytes"] and hashlib.sha256(data).hexdigest() == a["sha256"]


def test_submission_is_complete(farm_run, client):
    sub = client.get(f"/runs/{farm_run}/submission").json()
    assert sorted(sub) == ["flip", "same"]
    assert [len(sub["flip"]), len(sub["same"])] == [1, 2]
    for entries in sub.values():
        for entry in entries:
            assert sorted(entry) == ["attempt_1", "attempt_2"]
            for grid in entry.values():
                assert grid and all(row and all(type(v) is int and 0 <= v <= 9 for v in row)
                                    for row in grid)


def test_views_agree_with_what_the_loop_reported(farm_run, client, session_factory):
    epochs = _rows(session_factory, "SELECT t.task_id, e.* FROM epochs e JOIN jobs j ON j.id = e.job_id "
                                    "JOIN tasks t ON t.id = j.task_pk WHERE j.run_id = :r", r=farm_run)
    preds = _rows(session_factory, "SELECT * FROM prediction_log WHERE run_id = :r", r=farm_run)
    stats = _rows(session_factory, "SELECT * FROM epoch_stats WHERE run_id = :r", r=farm_run)
    assert len(stats) == len(epochs) == 4 and len(preds) == 2 * N_PRED
    by_key = {(s["task_id"], s["epoch"]): s for s in stats}
    for e in epochs:
        s = by_key[(e["task_id"], e["epoch"])]
        assert (s["predictions"], s["valid_outputs"], s["passes_train"]) == \
               (e["predictions"], e["valid"], e["passes_train"])
        mine = [p for p in preds if (p["task_id"], p["epoch"]) == (e["task_id"], e["epoch"])]
        assert len(mine) == e["predictions"] == 2
        assert sum(p["output_fingerprint"] is not None for p in mine) == e["valid"]
        assert sum(bool(p["passes_train"]) for p in mine) == e["passes_train"]
    for task in ("flip", "same"):  # sample indices count across epochs
        assert sorted(p["sample_index"] for p in preds if p["task_id"] == task) == list(range(N_PRED))
    results = {r["task_id"]: r for r in client.get(f"/runs/{farm_run}/tasks").json()}
    assert {t: (r["status"], r["epochs_run"], r["predictions"]) for t, r in results.items()} == \
           {"flip": ("done", 2, N_PRED), "same": ("done", 2, N_PRED)}
    summary = client.get(f"/runs/{farm_run}").json()
    assert (summary["n_tasks"], summary["n_done"], summary["predictions"]) == (2, 2, 2 * N_PRED)
    assert summary["jobs"] == {"queued": 0, "running": 0, "done": 2, "failed": 0, "cancelled": 0}
    assert summary["eta_s"] == 0.0
    detail = client.get(f"/runs/{farm_run}/tasks/same").json()
    assert [e["epoch"] for e in detail["epochs"]] == [0, 1]
    assert [a["test_index"] for a in detail["attempts"]] == [0, 1]
    assert len(detail["predictions"]) == N_PRED


def test_redelivered_messages_write_nothing(farm_run, client, celery_worker, queue_name,
                                            session_factory, farm_settings, tiny_model_dir):
    jobs = [r["id"] for r in _rows(session_factory, "SELECT id FROM jobs WHERE run_id = :r", r=farm_run)]
    before = row_counts(session_factory)
    # In this process: the runner refuses a finished job before touching the model.
    store = ArtifactStore(farm_settings.artifacts)
    for job_id in jobs:
        assert run_delivery(job_id, session_factory=session_factory, solver_cache=SolverCache(),
                       artifacts=store) == "skipped"
    assert row_counts(session_factory) == before
    # Through the broker: duplicates first, then a one-task run on the same queue. The solo
    # worker takes messages in order, so once that run is done the duplicates were handled.
    app = make_celery(farm_settings)
    for job_id in jobs:
        app.send_task(RUN_JOB, args=[job_id], queue=queue_name, priority=9)
    app.close()
    body = {"name": "after-duplicates", "tasks": {"flip": TASKS["flip"]}, "config": "tiny-cpu",
            "overrides": tiny_overrides(tiny_model_dir), "queue": queue_name}
    _submit_and_wait(client, celery_worker, body)
    after = row_counts(session_factory)
    # the task is shared with the earlier run; its test outputs are this run's own row (0005)
    assert {t: after[t] - before[t] for t in after} == {
        "runs": 1, "tasks": 0, "solutions": 1, "jobs": 1, "epochs": 2, "predictions": N_PRED,
        "adapters": 1, "attempts": 1}
    counts = _rows(session_factory, "SELECT delivery_count FROM jobs WHERE run_id = :r", r=farm_run)
    assert [c["delivery_count"] for c in counts] == [1, 1]
    assert celery_worker[1].read_text().count(": 'skipped'") == 2  # the task's return value


def test_reconcile_enqueues_jobs_whose_message_was_lost(client, celery_worker, farm_env, queue_name,
                                                        farm_settings, session_factory, tiny_model_dir):
    """Rows committed but no message sent (the API died in between): `arcfarm reconcile` sends it."""
    config = load_config("tiny-cpu", values=tiny_overrides(tiny_model_dir))
    with session_factory() as s:
        run_id = submit.create_run(session=s, settings=farm_settings, name="lost-message",
                                   dataset="inline", tasks=[parse_task("same", TASKS["same"])],
                                   config=config, queue=queue_name)
        job_id = s.execute(sa.text("SELECT id FROM jobs WHERE run_id = :r"), {"r": run_id}).scalar_one()
    env = {k: v for k, v in os.environ.items() if not k.startswith("ARCFARM_")}
    proc = subprocess.run([str(Path(sys.executable).parent / "arcfarm"), "reconcile"],
                          env={**env, **farm_env}, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert job_id in json.loads(proc.stdout)["queued"]
    run = wait_for(lambda: (lambda p: p if p["status"] == "done" else None)(
        client.get(f"/runs/{run_id}").json()), 240, "the reconciled run", celery_worker[1])
    assert run["jobs"]["done"] == 1 and run["predictions"] == N_PRED


def test_failing_job_is_retried_through_the_broker_then_failed(client, celery_worker, queue_name,
                                                               session_factory, tiny_model_dir):
    """A job that raises goes back to its queue until ARCFARM_MAX_DELIVERIES (3), then fails."""
    overrides = {**tiny_overrides(tiny_model_dir), "model": "/nonexistent/arcfarm-model"}
    r = client.post("/runs", json={"name": "doomed", "tasks": {"flip": TASKS["flip"]},
                                   "config": "tiny-cpu", "overrides": overrides, "queue": queue_name})
    assert r.status_code == 201, r.text
    run_id = r.json()["run_id"]
    wait_for(lambda: client.get(f"/runs/{run_id}").json()["jobs"]["failed"] == 1, 240,
             "the doomed job to fail", celery_worker[1])
    job = _rows(session_factory, "SELECT * FROM jobs WHERE run_id = :r", r=run_id)[0]
    assert (job["delivery_count"], job["failed_deliveries"]) == (3, 3)
    assert "nonexistent/arcfarm-model" in job["error"]
    assert client.get(f"/runs/{run_id}").json()["status"] == "done"  # every job has ended
