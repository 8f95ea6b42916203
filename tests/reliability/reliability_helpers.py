"""Helpers of the reliability tests (fixtures live in conftest.py)."""
from __future__ import annotations

import copy
import time
from pathlib import Path

import pytest
import sqlalchemy as sa

from arcfarm.db.status import RUN_TERMINAL

TABLES = ("runs", "tasks", "solutions", "jobs", "epochs", "predictions", "adapters", "attempts")

FLIP = {"train": [{"input": [[1, 2], [3, 4]], "output": [[2, 1], [4, 3]]},
                  {"input": [[5, 6]], "output": [[6, 5]]}],
        "test": [{"input": [[7, 8]], "output": [[8, 7]]}]}
SAME = {"train": [{"input": [[1, 1], [0, 0]], "output": [[1, 1], [0, 0]]}],
        "test": [{"input": [[2, 0]], "output": [[2, 0]]}, {"input": [[3]], "output": [[3]]}]}


def task(kind: str = "flip") -> dict:
    return copy.deepcopy(FLIP if kind == "flip" else SAME)


def overrides(model_dir: Path, **values) -> dict:
    """The tiny CPU model, a few short samples per epoch, one sandbox worker."""
    base = {"model": str(model_dir), "initial_predictions": 2, "predictions_per_epoch": 2,
            "samples_per_prompt": 2, "max_epochs": 1, "max_new_tokens": 32, "exec_workers": 1,
            "time_budget_s": 600}
    return {**base, **values}


def row_counts(session_factory) -> dict[str, int]:
    with session_factory() as s:
        return {t: s.execute(sa.text(f"SELECT COUNT(*) FROM {t}")).scalar_one() for t in TABLES}


def rows(session_factory, sql: str, **params) -> list[dict]:
    with session_factory() as s:
        return [dict(r) for r in s.execute(sa.text(sql), params).mappings()]


def wait_for(condition, timeout: float, what: str, *workers, interval: float = 0.1):
    """Poll `condition()` until truthy; fail naming `what` (with the workers' logs) after `timeout` s."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(interval)
    logs = "\n".join(f"--- {w.name}\n{w.tail()}" for w in workers)
    pytest.fail(f"timed out after {timeout:.0f}s waiting for {what}\n{logs}")


def submit(client, tasks: dict, queue: str, model_dir: Path, name: str = "rel", **values) -> int:
    r = client.post("/runs", json={"name": name, "tasks": tasks, "config": "tiny-cpu",
                                   "overrides": overrides(model_dir, **values), "queue": queue})
    assert r.status_code == 201, r.text
    return r.json()["run_id"]


def run_finished(client, run_id: int, *workers):
    def check():
        for w in workers:
            assert w.alive(), w.tail()
        run = client.get(f"/runs/{run_id}").json()
        return run if run["status"] in RUN_TERMINAL else None
    return check


def no_duplicates(session_factory, run_id: int) -> None:
    """Every (job, epoch) and (job, sample_index) once; sample indices 0..n-1 with no gap."""
    dup = rows(session_factory, "SELECT job_id, epoch, COUNT(*) n FROM epochs WHERE job_id IN "
               "(SELECT id FROM jobs WHERE run_id = :r) GROUP BY job_id, epoch HAVING COUNT(*) > 1",
               r=run_id)
    assert dup == []
    for job in rows(session_factory, "SELECT id FROM jobs WHERE run_id = :r", r=run_id):
        idx = [r["sample_index"] for r in rows(
            session_factory, "SELECT sample_index FROM predictions WHERE job_id = :j "
            "ORDER BY sample_index", j=job["id"])]
        assert idx == list(range(len(idx)))
