"""The worker-facing writes on PostgreSQL and SQLite: enqueue, claim, record, finish, fail, cancel,
and that every write is idempotent (redelivery and resume never duplicate a row)."""
from __future__ import annotations

import numpy as np
import pytest
import sqlalchemy as sa

from arcfarm.db import reads, writes
from arcfarm.learn.records import TaskResult

TABLES = ("runs", "tasks", "solutions", "jobs", "epochs", "predictions", "adapters", "attempts")


def counts(session) -> dict[str, int]:
    return {t: session.scalar(sa.text(f"SELECT COUNT(*) FROM {t}")) for t in TABLES}


def new_run(session, helpers, ids=("t1",), with_solutions=True, **kw) -> int:
    return writes.create_run(session=session, name="r", config={"seed": 1}, model="tiny", code_version="v1",
                             dataset="synthetic", tasks=helpers.make_tasks(ids, with_solutions), **kw)


def claim(session, job_id):
    return writes.claim_job(session=session, job_id=job_id, worker_host="host", worker_name="w0", gpu="cpu")


def test_end_to_end_one_task(session, helpers):
    run_id = new_run(session, helpers)
    [job_id] = helpers.job_ids(session, run_id).values()
    c = claim(session, job_id)
    assert (c.run_id, c.task_id, c.dataset, c.epochs_done, c.delivery_count) == (run_id, "t1", "synthetic", -1, 1)
    assert c.config == {"seed": 1} and c.task_json == helpers.TASK_JSON["t1"] | {"test": [{"input": [[5]]}]}
    for rec, preds in helpers.epochs_of("t1", helpers.RUN_A["t1"]):
        keep_going = writes.record_epoch(session=session, job_id=job_id, epoch=rec, predictions=preds,
                                         adapter={"uri": f"file:///{rec.epoch}", "sha256": "ab", "bytes": 3})
        assert keep_going
    correct = session.execute(sa.text("SELECT sample_index, test_correct FROM predictions ORDER BY 1")).all()
    assert [(i, bool(c)) for i, c in correct] == [(0, True), (1, False), (2, True), (3, False)]
    writes.finish_job(session=session, job_id=job_id,
                      result=TaskResult(task_id="t1", attempts=[[np.array(helpers.S1)]], seconds=4.0))
    progress = reads.run_progress(session=session, run_id=run_id)
    assert progress["status"] == "done" and progress["jobs"]["done"] == 1 and progress["jobs"]["queued"] == 0
    assert (progress["n_solved"], progress["score"], progress["predictions"], progress["worker_seconds"]) == (1, 1.0, 4, 4.0)
    assert counts(session) == dict(runs=1, tasks=1, solutions=1, jobs=1, epochs=2, predictions=4, adapters=2,
                                   attempts=1)


def test_create_run_reuses_tasks_and_stores_each_runs_solutions(session, helpers):
    new_run(session, helpers, ("t1", "t2"), with_solutions=False)
    assert counts(session)["solutions"] == 0
    new_run(session, helpers, ("t1", "t2", "t3"))
    c = counts(session)
    assert (c["runs"], c["tasks"], c["solutions"], c["jobs"]) == (2, 3, 3, 5)
    with pytest.raises(ValueError, match="t1"):
        task, _ = helpers.make_tasks(("t1",))[0]
        writes.create_run(session=session, name="bad", config={}, model="m", code_version="v", dataset="d",
                          tasks=[(task, [np.zeros((1, 1)), np.zeros((1, 1))])])
    assert counts(session)["runs"] == 2  # the failed create_run left nothing behind


def test_record_epoch_and_finish_job_twice_change_nothing(session, helpers):
    run_id = new_run(session, helpers, ("t2",))
    [job_id] = helpers.job_ids(session, run_id).values()
    claim(session, job_id)
    epochs = helpers.epochs_of("t2", helpers.RUN_A["t2"])
    result = TaskResult(task_id="t2", attempts=[[np.array(helpers.S2)]], seconds=1.0)
    for _ in range(2):
        for rec, preds in epochs:
            writes.record_epoch(session=session, job_id=job_id, epoch=rec, predictions=preds,
                                adapter={"uri": "file:///x"} if rec.epoch else None)
        writes.finish_job(session=session, job_id=job_id, result=result)
        snapshot = counts(session)
    assert snapshot == counts(session) and snapshot["predictions"] == 4 and snapshot["epochs"] == 2
    # A stale re-record of epoch 0 does not move epochs_done back.
    writes.record_epoch(session=session, job_id=job_id, epoch=epochs[0][0], predictions=epochs[0][1])
    assert reads.job_records(session=session, job_id=job_id).epochs_done == 1
    assert counts(session) == snapshot


def test_redelivery_resumes_and_finished_job_is_not_claimed(session, helpers):
    run_id = new_run(session, helpers, ("t1",))
    [job_id] = helpers.job_ids(session, run_id).values()
    claim(session, job_id)
    rec, preds = helpers.epochs_of("t1", helpers.RUN_A["t1"])[0]
    writes.record_epoch(session=session, job_id=job_id, epoch=rec, predictions=preds)
    again = claim(session, job_id)  # the worker died; the message is redelivered
    assert (again.delivery_count, again.epochs_done) == (2, 0)
    assert session.scalar(sa.text(f"SELECT resumed_from_epoch FROM jobs WHERE id = {job_id}")) == 0
    writes.finish_job(session=session, job_id=job_id, result=TaskResult(task_id="t1"))
    assert claim(session, job_id) is None
    assert claim(session, 10_000) is None
    assert session.scalar(sa.text(f"SELECT delivery_count FROM jobs WHERE id = {job_id}")) == 2


def test_fail_job_retries_then_fails_and_closes_the_run(session, helpers):
    run_id = new_run(session, helpers, ("t1",))
    [job_id] = helpers.job_ids(session, run_id).values()
    claim(session, job_id)
    assert writes.fail_job(session=session, job_id=job_id, error="CUDA error", final=False)
    assert [j.job_id for j in reads.queued_jobs(session=session)] == [job_id]
    claim(session, job_id)
    assert writes.fail_job(session=session, job_id=job_id, error="CUDA error again", final=True)
    assert not writes.fail_job(session=session, job_id=job_id, error="late duplicate", final=True)
    row = session.execute(sa.text(f"SELECT status, failed_deliveries, error FROM jobs WHERE id = {job_id}")).one()
    assert tuple(row) == ("failed", 2, "CUDA error again")
    progress = reads.run_progress(session=session, run_id=run_id)
    assert (progress["status"], progress["n_failed"], progress["score"]) == ("done", 1, 0.0)


def test_cancel_run_stops_workers(session, helpers):
    run_id = new_run(session, helpers, ("t1", "t2"))
    jobs = helpers.job_ids(session, run_id)
    claim(session, jobs["t1"])
    assert writes.heartbeat(session=session, job_id=jobs["t1"])
    assert writes.cancel_run(session=session, run_id=run_id) == 2
    assert not writes.heartbeat(session=session, job_id=jobs["t1"])
    rec, preds = helpers.epochs_of("t1", helpers.RUN_A["t1"])[0]
    assert not writes.record_epoch(session=session, job_id=jobs["t1"], epoch=rec, predictions=preds)
    assert claim(session, jobs["t2"]) is None
    assert reads.queued_jobs(session=session) == []
    assert reads.run_progress(session=session, run_id=run_id)["status"] == "cancelled"


def test_unknown_solutions_leave_correctness_null(session, helpers):
    run_id = new_run(session, helpers, ("t1",), with_solutions=False)
    [job_id] = helpers.job_ids(session, run_id).values()
    claim(session, job_id)
    rec, preds = helpers.epochs_of("t1", helpers.RUN_A["t1"])[0]
    writes.record_epoch(session=session, job_id=job_id, epoch=rec, predictions=preds)
    writes.finish_job(session=session, job_id=job_id,
                      result=TaskResult(task_id="t1", attempts=[[np.array(helpers.S1)]]))
    assert session.execute(sa.text("SELECT DISTINCT test_correct FROM predictions")).all() == [(None,)]
    assert session.execute(sa.text("SELECT correct FROM attempts")).all() == [(None,)]
    [row] = reads.run_tasks(session=session, run_id=run_id)
    assert (row["score"], row["first_solved_epoch"], row["status"]) == (None, None, "done")


def test_bad_adapter_keys_are_refused_and_roll_back(session, helpers):
    run_id = new_run(session, helpers, ("t1",))
    [job_id] = helpers.job_ids(session, run_id).values()
    rec, preds = helpers.epochs_of("t1", helpers.RUN_A["t1"])[0]
    with pytest.raises(ValueError, match="urll"):
        writes.record_epoch(session=session, job_id=job_id, epoch=rec, predictions=preds, adapter={"urll": "x"})
    assert counts(session)["predictions"] == 0 and counts(session)["epochs"] == 0
