"""Reads on PostgreSQL and SQLite: resume records, run/task summaries, the ARC Prize submission,
and the job lists reconcile works from; plus concurrent claims on PostgreSQL."""
from __future__ import annotations

import threading
from datetime import timedelta

import numpy as np
import sqlalchemy as sa

from arcfarm.db import reads, writes
from arcfarm.db.connection import make_db_engine, make_session_factory
from arcfarm.db.models import Job, utcnow


def test_job_records_give_back_what_was_recorded(session, helpers):
    run_id = writes.create_run(session=session, name="r", config={}, model="m", code_version="v",
                               dataset="synthetic", tasks=helpers.make_tasks(("t3",)))
    [job_id] = helpers.job_ids(session, run_id).values()
    assert reads.job_records(session=session, job_id=job_id).epochs_done == -1
    epochs = helpers.epochs_of("t3", helpers.RUN_A["t3"])
    for rec, preds in epochs:
        writes.record_epoch(session=session, job_id=job_id, epoch=rec, predictions=preds)
    got = reads.job_records(session=session, job_id=job_id)
    assert got.epochs_done == 1 and got.epochs == [rec for rec, _ in epochs]
    want = [p for _, preds in epochs for p in preds]
    assert [p.to_json() | {"train_outputs": 0, "test_outputs": 0} for p in got.predictions] == \
           [p.to_json() | {"train_outputs": 0, "test_outputs": 0} for p in want]
    for g, w in zip(got.predictions, want):
        assert len(g.test_outputs) == len(w.test_outputs)
        for a, b in zip(g.test_outputs + g.train_outputs, w.test_outputs + w.train_outputs):
            assert (a is None and b is None) or (a.dtype == np.int64 and np.array_equal(a, b))


def test_summaries_and_task_detail(session, synthetic):
    runs = reads.list_runs(session=session)
    assert [(r["run_id"], r["name"], r["n_done"], r["n_failed"]) for r in runs] == \
           [(synthetic["run_b"], "run-b", 2, 1), (synthetic["run_a"], "run-a", 3, 0)]
    tasks = reads.run_tasks(session=session, run_id=synthetic["run_a"])
    assert [(t["task_id"], t["epochs_run"], t["first_solved_epoch"], t["passes_train"]) for t in tasks] == \
           [("t1", 2, 0, 2), ("t2", 2, 1, 1), ("t3", 2, None, 2)]
    detail = reads.task_detail(session=session, run_id=synthetic["run_a"], task_id="t2", max_predictions=2)
    assert detail["result"]["score"] == 1.0 and detail["job"]["status"] == "done"
    assert "output" not in detail["task_json"]["test"][0]
    assert [e["epoch"] for e in detail["epochs"]] == [0, 1]
    assert [p["sample_index"] for p in detail["predictions"]] == [3, 0]
    assert detail["attempts"] == [{"test_index": 0, "attempt_1": [[4, 4]], "attempt_2": [[9]], "correct": True}]
    assert reads.task_detail(session=session, run_id=synthetic["run_a"], task_id="nope") is None
    assert reads.run_progress(session=session, run_id=999) is None


def test_submission_has_every_task_and_test_input(session, synthetic):
    sub = reads.submission(session=session, run_id=synthetic["run_a"])
    assert sub == {"t1": [{"attempt_1": [[6]], "attempt_2": [[0]]}],
                   "t2": [{"attempt_1": [[4, 4]], "attempt_2": [[9]]}],
                   "t3": [{"attempt_1": [[2]], "attempt_2": [[0]]}, {"attempt_1": [[9]], "attempt_2": [[0]]}]}
    failed = reads.submission(session=session, run_id=synthetic["run_b"])["t3"]  # no attempts at all
    assert failed == [{"attempt_1": [[0]], "attempt_2": [[0]]}] * 2


def test_stale_and_queued_jobs(session, helpers):
    low = writes.create_run(session=session, name="low", config={}, model="m", code_version="v",
                            dataset="synthetic", tasks=helpers.make_tasks(("t1", "t2")))
    high = writes.create_run(session=session, name="high", config={}, model="m", code_version="v",
                             dataset="synthetic", tasks=helpers.make_tasks(("t1",)), queue="big", priority=5)
    queued = reads.queued_jobs(session=session)
    # priority first, then larger tasks (t2 has more cells than t1) first
    assert [(j.run_id, j.task_id, j.queue) for j in queued] == \
           [(high, "t1", "big"), (low, "t2", "arcfarm"), (low, "t1", "arcfarm")]  # the default queue
    job = helpers.job_ids(session, low)["t1"]
    writes.claim_job(session=session, job_id=job, worker_host="h", worker_name="w", gpu=None)
    assert reads.stale_jobs(session=session, older_than_s=60) == []
    session.execute(sa.update(Job).where(Job.id == job).values(heartbeat_at=utcnow() - timedelta(minutes=5)))
    session.commit()
    [stale] = reads.stale_jobs(session=session, older_than_s=60)
    assert (stale.job_id, stale.status, stale.delivery_count) == (job, "running", 1)
    assert writes.heartbeat(session=session, job_id=job)
    assert reads.stale_jobs(session=session, older_than_s=60) == []


def test_concurrent_claims_count_every_delivery(pg_url, helpers):
    from arcfarm.db import migrate
    migrate.upgrade(pg_url)
    engine = make_db_engine(pg_url, pool_size=8)
    factory = make_session_factory(engine)
    with factory() as s:
        run_id = writes.create_run(session=s, name="r", config={}, model="m", code_version="v",
                                   dataset="d", tasks=helpers.make_tasks(("t1",)))
        [job_id] = helpers.job_ids(s, run_id).values()

    def worker(n: int) -> None:
        with factory() as s:
            for _ in range(5):
                writes.claim_job(session=s, job_id=job_id, worker_host="h", worker_name=f"w{n}", gpu=None)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    with factory() as s:
        assert s.scalar(sa.select(Job.delivery_count).where(Job.id == job_id)) == 30
    engine.dispose()


def test_jobs_finishing_together_close_the_run(pg_url, helpers):
    from arcfarm.db import migrate
    from arcfarm.db.models import Run
    from arcfarm.learn.records import TaskResult
    migrate.upgrade(pg_url)
    engine = make_db_engine(pg_url)
    factory = make_session_factory(engine)
    with factory() as s:
        run_id = writes.create_run(session=s, name="r", config={}, model="m", code_version="v",
                                   dataset="d", tasks=helpers.make_tasks(("t1", "t2")))
        jobs = helpers.job_ids(s, run_id)

    def finish(job_id: int) -> None:
        with factory() as s:
            writes.finish_job(session=s, job_id=job_id, result=TaskResult(task_id="t1"))

    finish_t1 = threading.Thread(target=finish, args=(jobs["t1"],))
    with factory() as other:  # plays finish_job(t2), paused just before its run check
        other.execute(sa.update(Job).where(Job.id == jobs["t2"]).values(status="done"))
        other.execute(sa.select(Run.id).where(Run.id == run_id).with_for_update())
        finish_t1.start()
        finish_t1.join(timeout=0.5)
        assert finish_t1.is_alive()  # t1 waits for the run row instead of judging on stale data
        writes._close_run_if_finished(other, run_id)
        other.commit()
    finish_t1.join()
    with factory() as s:
        assert s.scalar(sa.select(Run.status).where(Run.id == run_id)) == "done"
    engine.dispose()
