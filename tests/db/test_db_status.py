"""Job and run states are `str` enums: stored, compared, printed and sent as JSON as their plain
strings, and every status a recorded history holds is a member."""
from __future__ import annotations

import json

import sqlalchemy as sa

from arcfarm.db.status import JOB_OPEN, JOB_TERMINAL, RUN_OPEN, RUN_TERMINAL, JobStatus, RunStatus


def test_a_status_is_its_stored_string():
    assert JobStatus.QUEUED == "queued" and JobStatus("cancelled") is JobStatus.CANCELLED
    assert str(RunStatus.DONE) == "done" and f"{JobStatus.FAILED}" == "failed"
    assert json.dumps({"status": JobStatus.RUNNING}) == '{"status": "running"}'


def test_open_and_terminal_split_every_status():
    assert set(JOB_OPEN) | set(JOB_TERMINAL) == set(JobStatus)
    assert not set(JOB_OPEN) & set(JOB_TERMINAL)
    assert set(RUN_OPEN) | set(RUN_TERMINAL) == set(RunStatus)
    assert not set(RUN_OPEN) & set(RUN_TERMINAL)


def test_stored_statuses_are_members(history):
    session, _ = history
    jobs = set(session.scalars(sa.text("SELECT DISTINCT status FROM jobs")))
    runs = set(session.scalars(sa.text("SELECT DISTINCT status FROM runs")))
    assert jobs == {"done", "failed"} and jobs <= {s.value for s in JobStatus}
    assert runs == {"done"} and runs <= {s.value for s in RunStatus}
