"""`arcfarm demo` on a fresh home: the committed toy model solves some of the demo tasks."""
from __future__ import annotations

import json
import sqlite3
import subprocess
import sys

import pytest


@pytest.mark.slow
@pytest.mark.timeout(1500)
def test_demo_runs_end_to_end_and_solves_a_task(tmp_path):
    # One torch thread: two threads fighting the sandbox workers for 2 cores run 10x slower.
    env = {"PATH": "/usr/bin:/bin", "ARCFARM_HOME": str(tmp_path / "home"), "HF_HUB_OFFLINE": "1",
           "OMP_NUM_THREADS": "1"}
    out = subprocess.run([sys.executable, "-m", "arcfarm.cli", "demo", "--arc-tasks", "1"],
                         capture_output=True, text=True, env=env, cwd=tmp_path, timeout=1400)
    assert out.returncode == 0, out.stderr[-3000:]
    submission = tmp_path / "home" / "runs" / "1" / "submission.json"
    assert f"submission: {submission}" in out.stdout
    # only arcfarm's own lines: the path once, no library warnings or weight-loading bars
    assert (out.stdout + out.stderr).count("submission: ") == 1
    assert "warn" not in out.stderr.lower() and "Loading weights" not in out.stderr, out.stderr[-3000:]
    assert "http://127.0.0.1:8000/ui/runs/1" in out.stdout  # how to open the dashboard on it
    entries = json.loads(submission.read_text())
    assert len(entries) == 5 and all(len(v) >= 1 for v in entries.values())
    with sqlite3.connect(tmp_path / "home" / "arcfarm.db") as db:
        rows = db.execute("SELECT task_id, status, score FROM task_results WHERE run_id = 1").fetchall()
    assert len(rows) == 5 and all(status == "done" for _, status, _ in rows)
    assert sum(score == 1.0 for _, _, score in rows) >= 1, rows
