"""Embedded mode from the command line: no database or broker URL, so `arcfarm submit` writes
$ARCFARM_HOME/arcfarm.db (SQLite) and runs the jobs in its own process."""
from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from farm_helpers import TABLES, TASKS, tiny_overrides

pytestmark = pytest.mark.slow
ARCFARM = str(Path(sys.executable).parent / "arcfarm")


def _arcfarm(home: Path, *args: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ARCFARM_")}
    env.update(ARCFARM_HOME=str(home), ARCFARM_ARTIFACTS=str(home / "artifacts"))
    return subprocess.run([ARCFARM, *args], env=env, cwd=home, capture_output=True, text=True,
                          timeout=300)


def _sets(model_dir: Path) -> list[str]:
    return [arg for k, v in tiny_overrides(model_dir).items() for arg in ("--set", f"{k}={v}")]


def test_submit_runs_everything_on_sqlite(tmp_path, tiny_model_dir):
    tasks = tmp_path / "two_challenges.json"
    tasks.write_text(json.dumps(TASKS))
    proc = _arcfarm(tmp_path, "submit", "--tasks", str(tasks), "--config", "tiny-cpu",
                    *_sets(tiny_model_dir), "--json")
    assert proc.returncode == 0, proc.stderr
    run_id = json.loads(proc.stdout)["run_id"]

    db = sqlite3.connect(tmp_path / "arcfarm.db")
    counts = {t: db.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0]
              for t in TABLES}
    assert counts == {"runs": 1, "tasks": 2, "solutions": 2, "jobs": 2, "epochs": 4, "predictions": 8,
                      "adapters": 2, "attempts": 3}
    rows = db.execute("SELECT task_id, status, epochs_run, predictions FROM task_results "
                      "WHERE run_id = ? ORDER BY task_id", (run_id,)).fetchall()
    assert rows == [("flip", "done", 2, 4), ("same", "done", 2, 4)]
    db.close()

    written = json.loads((tmp_path / "runs" / str(run_id) / "submission.json").read_text())
    assert [len(written["flip"]), len(written["same"])] == [1, 2]

    status = _arcfarm(tmp_path, "status", str(run_id), "--json")
    assert status.returncode == 0, status.stderr
    progress = json.loads(status.stdout)
    assert progress["status"] == "done"
    assert progress["jobs"] == {"queued": 0, "running": 0, "done": 2, "failed": 0, "cancelled": 0}

    out = tmp_path / "export.json"
    assert _arcfarm(tmp_path, "export", str(run_id), "-o", str(out)).returncode == 0
    assert json.loads(out.read_text()) == written


def test_bad_task_file_is_refused_and_nothing_stored(tmp_path):
    bad = json.loads(json.dumps(TASKS))
    bad["same"]["train"][0]["output"] = [[1, 1], [0]]
    tasks = tmp_path / "bad_challenges.json"
    tasks.write_text(json.dumps(bad))
    proc = _arcfarm(tmp_path, "submit", "--tasks", str(tasks), "--config", "tiny-cpu")
    assert proc.returncode == 2
    assert "'same'" in proc.stderr and "train[0].output" in proc.stderr
    assert not (tmp_path / "arcfarm.db").exists()
    good = tmp_path / "good_challenges.json"
    good.write_text(json.dumps(TASKS))
    proc = _arcfarm(tmp_path, "submit", "--tasks", str(good), "--config", "tiny-cpu",
                    "--set", "max_epoch=1")
    assert proc.returncode == 2 and "max_epoch" in proc.stderr
    assert not (tmp_path / "arcfarm.db").exists()


def test_api_runs_jobs_in_a_thread_on_sqlite(tmp_path, tiny_model_dir):
    from fastapi.testclient import TestClient

    from arcfarm.api.main import create_app
    from arcfarm.settings import get_settings

    from farm_helpers import wait_for

    settings = get_settings({"ARCFARM_HOME": str(tmp_path), "ARCFARM_ARTIFACTS": str(tmp_path / "a"),
                             "ARCFARM_API_MODELS": str(tiny_model_dir)})
    with TestClient(create_app(settings)) as client:
        assert client.get("/health").json() == {"status": "ok", "database": "ok", "broker": "embedded"}
        r = client.post("/runs", json={"tasks": {"flip": TASKS["flip"]}, "config": "tiny-cpu",
                                       "overrides": tiny_overrides(tiny_model_dir)})
        assert r.status_code == 201, r.text
        run_id = r.json()["run_id"]
        run = wait_for(lambda: (lambda p: p if p["status"] != "queued" and p["jobs"]["done"] else None)(
            client.get(f"/runs/{run_id}").json()), 120, "the embedded run")
        assert run["status"] == "done" and run["predictions"] == 4
        assert len(client.get(f"/runs/{run_id}/submission").json()["flip"]) == 1


def test_reconcile_resumes_a_job_whose_process_died(tmp_path, tiny_model_dir):
    """Embedded mode has no broker: `arcfarm reconcile` runs queued and stale running jobs itself."""
    import sqlalchemy as sa

    from arcfarm.db import writes
    from arcfarm.db.connection import make_db_engine, make_session_factory

    tasks = tmp_path / "flip.json"
    tasks.write_text(json.dumps(TASKS["flip"]))
    proc = _arcfarm(tmp_path, "submit", "--tasks", str(tasks), "--config", "tiny-cpu",
                    *_sets(tiny_model_dir), "--json", "--no-run")
    assert proc.returncode == 0, proc.stderr
    run_id = json.loads(proc.stdout)["run_id"]
    engine = make_db_engine(f"sqlite:///{tmp_path / 'arcfarm.db'}")
    with make_session_factory(engine)() as s:
        job_id = s.execute(sa.text("SELECT id FROM jobs WHERE run_id = :r"), {"r": run_id}).scalar_one()
        # A process took the job and died: running, with a heartbeat an hour old.
        assert writes.claim_job(session=s, job_id=job_id, worker_host="h", worker_name="dead", gpu=None)
        s.execute(sa.text("UPDATE jobs SET heartbeat_at = :t WHERE id = :j"),
                  {"t": "2000-01-01 00:00:00.000000", "j": job_id})
        s.commit()
    proc = _arcfarm(tmp_path, "reconcile")
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout) == {"ran": {str(job_id): "done"}}
    with make_session_factory(engine)() as s:
        status, deliveries = s.execute(sa.text("SELECT status, delivery_count FROM jobs WHERE id = :j"),
                                       {"j": job_id}).one()
    engine.dispose()
    assert (status, deliveries) == ("done", 2)
