"""Solutions belong to the run that supplied them (issue 20): two submitters of the same task with
different test outputs are each scored against their own, and a run without outputs gets NULL
verdicts, never someone else's. On PostgreSQL and SQLite."""
from __future__ import annotations

import json

import numpy as np
import sqlalchemy as sa

from arcfarm.db import reads, writes
from arcfarm.learn.records import TaskResult


def _submit(session, helpers, name: str, outputs) -> int:
    task, _ = helpers.make_tasks(("t1",))[0]
    solutions = None if outputs is None else [np.array(outputs)]
    return writes.create_run(session=session, name=name, config={}, model="tiny", code_version="v",
                             dataset="inline", tasks=[(task, solutions)])


def _run_job(session, helpers, run_id: int) -> None:
    """The same worker output for every run: t1's predictions of RUN_A, attempt S1."""
    [job_id] = helpers.job_ids(session, run_id).values()
    writes.claim_job(session=session, job_id=job_id, worker_host="h", worker_name="w", gpu="cpu")
    for rec, preds in helpers.epochs_of("t1", helpers.RUN_A["t1"]):
        writes.record_epoch(session=session, job_id=job_id, epoch=rec, predictions=preds, adapter=None)
    writes.finish_job(session=session, job_id=job_id,
                      result=TaskResult(task_id="t1", attempts=[[np.array(helpers.S1)]], seconds=1.0))


def _verdicts(session, run_id: int) -> tuple[list, list, float | None]:
    preds = session.execute(sa.text(
        "SELECT p.test_correct FROM predictions p JOIN jobs j ON j.id = p.job_id "
        "WHERE j.run_id = :r ORDER BY p.sample_index"), {"r": run_id}).scalars().all()
    attempts = session.execute(sa.text(
        "SELECT a.correct FROM attempts a JOIN jobs j ON j.id = a.job_id WHERE j.run_id = :r"),
        {"r": run_id}).scalars().all()
    [task] = reads.run_tasks(session=session, run_id=run_id)
    norm = [None if v is None else bool(v) for v in preds]
    return norm, [None if v is None else bool(v) for v in attempts], task["score"]


def test_two_submitters_are_each_scored_against_their_own_outputs(session, helpers):
    first = _submit(session, helpers, "first", helpers.S1)       # the true output [[6]]
    second = _submit(session, helpers, "second", helpers.WRONG)  # a different one, [[9]]
    silent = _submit(session, helpers, "silent", None)           # no outputs at all
    for run_id in (first, second, silent):
        _run_job(session, helpers, run_id)

    # the task is stored once (keyed without its outputs); each submitter's outputs are kept
    assert session.scalar(sa.text("SELECT COUNT(*) FROM tasks")) == 1
    stored = dict(session.execute(sa.text("SELECT run_id, test_outputs FROM solutions")).all())
    stored = {k: v if isinstance(v, list) else json.loads(v) for k, v in stored.items()}  # SQLite: text
    assert stored == {first: [helpers.S1], second: [helpers.WRONG]}

    # predictions output [S1], nothing, [S1], [WRONG]; the attempt is S1
    assert _verdicts(session, first) == ([True, False, True, False], [True], 1.0)
    assert _verdicts(session, second) == ([False, False, False, True], [False], 0.0)
    assert _verdicts(session, silent) == ([None, None, None, None], [None], None)


def test_a_later_run_without_outputs_does_not_see_an_earlier_runs(session, helpers):
    earlier = _submit(session, helpers, "earlier", helpers.S1)
    later = _submit(session, helpers, "later", None)
    _run_job(session, helpers, later)
    assert _verdicts(session, later) == ([None, None, None, None], [None], None)
    _run_job(session, helpers, earlier)
    assert _verdicts(session, earlier)[2] == 1.0
