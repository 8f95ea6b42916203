"""Every route declares its response schema (so /docs shows it), the bodies keep the views'
column names, and a route that only needs to know a run exists looks it up by primary key
instead of computing the run_summary view. Embedded mode: SQLite, no broker."""
from __future__ import annotations

import json

import numpy as np
import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from arcfarm.api.main import create_app
from arcfarm.arc.tasks import parse_task
from arcfarm.db import writes
from arcfarm.db.models import Job
from arcfarm.learn.records import EpochRecord, PredictionRecord, TaskResult
from arcfarm.settings import Settings

TASK = {"train": [{"input": [[1]], "output": [[2]]}], "test": [{"input": [[3]], "output": [[4]]}]}
VIEW_COLUMNS = {
    "run_summary": ["run_id", "name", "status", "n_tasks", "n_done", "n_failed", "n_solved",
                    "score", "predictions", "worker_seconds", "created_at", "finished_at",
                    "base_training_id"],
    "task_results": ["run_id", "task_id", "status", "epochs_run", "predictions",
                     "first_solved_epoch", "passes_train", "score", "seconds"],
    "epoch_stats": ["run_id", "task_id", "epoch", "predictions", "valid_outputs",
                    "unique_outputs", "relabeled", "train_loss", "best_train_correct_grids",
                    "passes_train", "sample_s", "execute_s", "train_s"],
    "prediction_log": ["run_id", "task_id", "epoch", "sample_index", "code", "error",
                       "correct_train_grids", "passes_train", "test_correct",
                       "output_fingerprint", "completion_tokens"],
}


def _write_one_task_run(session, task_id: str = "t") -> int:
    run_id = writes.create_run(session=session, name="r", config={}, model="m",
                               code_version="v", dataset="d", tasks=[parse_task(task_id, TASK)])
    job_id = session.scalar(sa.select(Job.id).where(Job.run_id == run_id))
    writes.claim_job(session=session, job_id=job_id, worker_host="h", worker_name="w", gpu=None)
    grid = np.array([[4]])
    prediction = PredictionRecord(
        epoch=0, sample_index=0, augmentation={"dihedral": 0}, prompt_tokens=5,
        completion_tokens=7, response="r", code="c", code_hash="h",
        train_outputs=[np.array([[2]])], test_outputs=[grid], grid_errors=[None, None],
        error=None, error_message=None, train_correct=1, train_total=1, pixel_score=1.0,
        passes_train=True, fingerprint="f")
    epoch = EpochRecord(epoch=0, predictions=1, valid=1, unique_outputs=1, relabeled=0,
                        train_loss=None, train_error=None, best_train_correct=1, passes_train=1,
                        sample_s=0.1, execute_s=0.1, relabel_s=0.0, train_s=0.0, reset_s=0.0)
    writes.record_epoch(session=session, job_id=job_id, epoch=epoch, predictions=[prediction])
    writes.finish_job(session=session, job_id=job_id,
                      result=TaskResult(task_id=task_id, attempts=[[grid]], seconds=1.5))
    return run_id


@pytest.fixture
def app(tmp_path):
    return create_app(Settings(home=tmp_path))  # embedded: migrates the SQLite database


@pytest.fixture
def run_id(app) -> int:
    with app.state.session_factory() as session:
        return _write_one_task_run(session)


def test_every_route_declares_its_response_schema(app):
    paths = app.openapi()["paths"]
    routes = [(path, method, op) for path, ops in paths.items() for method, op in ops.items()]
    assert len(routes) == 8
    for path, method, op in routes:
        ok = next(v for k, v in op["responses"].items() if k.startswith("2"))
        schema = ok["content"]["application/json"]["schema"]
        assert "$ref" in json.dumps(schema), (method, path, schema)  # a named schema, not {}


def test_bodies_keep_the_view_column_names(app, run_id):
    client = TestClient(app)
    [summary] = client.get("/runs").json()
    assert list(summary) == VIEW_COLUMNS["run_summary"]
    assert summary["status"] == "done" and summary["n_solved"] == 1
    run = client.get(f"/runs/{run_id}").json()
    assert list(run) == VIEW_COLUMNS["run_summary"] + ["jobs", "eta_s"]  # one name for solved tasks: n_solved
    assert run["jobs"] == {"queued": 0, "running": 0, "done": 1, "failed": 0, "cancelled": 0}
    [result] = client.get(f"/runs/{run_id}/tasks").json()
    assert list(result) == VIEW_COLUMNS["task_results"] and result["score"] == 1.0
    detail = client.get(f"/runs/{run_id}/tasks/t").json()
    assert list(detail) == ["result", "job", "task_json", "epochs", "attempts", "predictions"]
    assert list(detail["job"]) == [c.key for c in sa.inspect(Job).column_attrs]
    assert list(detail["epochs"][0]) == VIEW_COLUMNS["epoch_stats"]
    assert list(detail["predictions"][0]) == VIEW_COLUMNS["prediction_log"]
    assert detail["predictions"][0]["passes_train"] is True  # a boolean on SQLite too
    assert detail["attempts"] == [{"test_index": 0, "attempt_1": [[4]], "attempt_2": None,
                                   "correct": True}]
    assert client.get(f"/runs/{run_id}/submission").json() == {
        "t": [{"attempt_1": [[4]], "attempt_2": [[0]]}]}


def test_lookups_by_id_do_not_compute_run_summary(app, run_id):
    statements: list[str] = []
    engine = app.state.session_factory.kw["bind"]
    sa.event.listen(engine, "before_cursor_execute",
                    lambda _c, _cur, sql, *_: statements.append(sql))
    client = TestClient(app)
    for path in (f"/runs/{run_id}/tasks", f"/runs/{run_id}/submission"):
        assert client.get(path).status_code == 200
    assert client.post(f"/runs/{run_id}/cancel").json()["cancelled_jobs"] == 0
    assert statements and not [s for s in statements if "run_summary" in s]
    assert client.get("/runs/987654/submission").status_code == 404


def test_job_counts_name_every_job_status():
    """A new JobStatus member must appear in the /runs/{id} counts, not be dropped by pydantic."""
    from arcfarm.api.schemas import JobCounts
    from arcfarm.db.status import JobStatus

    assert set(JobCounts.model_fields) == {s.value for s in JobStatus}
