"""The job runner in this process, on the test PostgreSQL: resume after a failure from the last
committed epoch and adapter, bounded retries, deliveries lost with their worker, cancellation.

Failures are provoked through the artifact store (a real one on a temporary folder, with a
fault added), the one place a worker writes outside the database.
"""
from __future__ import annotations

import pytest
import sqlalchemy as sa

from arcfarm.arc.tasks import parse_task
from arcfarm.db import writes
from arcfarm.jobs import submit
from arcfarm.learn.config import load_config
from arcfarm.workers.artifacts import ArtifactStore
from arcfarm.workers.job_runner import SolverCache, Worker, run_delivery

from farm_helpers import TASKS, row_counts, tiny_overrides

pytestmark = pytest.mark.slow


class FaultyStore(ArtifactStore):
    """Fails (or runs `action`) when saving the adapter of epoch `at`, `times` times."""

    def __init__(self, root: str, at: int, times: int = 1, action=None):
        super().__init__(root)
        self.at, self.times, self.action = at, times, action

    def save_adapter(self, save, run_id, job_id, epoch):
        if epoch == self.at and self.times > 0:
            self.times -= 1
            if self.action is None:
                raise OSError("no space left on device (injected)")
            self.action(run_id)
        return super().save_adapter(save, run_id, job_id, epoch)


@pytest.fixture(scope="module")
def solvers():
    cache = SolverCache()
    yield cache
    cache.close()


@pytest.fixture
def new_job(session_factory, farm_settings, tiny_model_dir, queue_name):
    def make(**values) -> tuple[int, int]:
        config = load_config("tiny-cpu", values={**tiny_overrides(tiny_model_dir), **values})
        with session_factory() as s:
            run_id = submit.create_run(session=s, settings=farm_settings, name="runner", dataset="runner",
                                       tasks=[parse_task("flip", TASKS["flip"])], config=config,
                                       queue=f"{queue_name}-runner")  # no worker listens there
            job_id = s.execute(sa.text("SELECT id FROM jobs WHERE run_id = :r"), {"r": run_id}).scalar_one()
        return run_id, job_id
    return make


def _job(session_factory, job_id: int) -> dict:
    with session_factory() as s:
        return dict(s.execute(sa.text("SELECT * FROM jobs WHERE id = :j"), {"j": job_id}).mappings().one())


def _count(session_factory, table: str, job_id: int) -> int:
    with session_factory() as s:
        sql = sa.text(f"SELECT COUNT(*) FROM {table} WHERE job_id = :j")
        return s.execute(sql, {"j": job_id}).scalar_one()


def _epoch0(session_factory, job_id: int) -> list:
    with session_factory() as s:
        return s.execute(sa.text("SELECT id, sample_index, response FROM predictions WHERE job_id = :j "
                                 "AND epoch = 0 ORDER BY sample_index"), {"j": job_id}).all()


def test_resumes_from_the_last_committed_epoch_and_adapter(new_job, session_factory, solvers, tmp_path):
    run_id, job_id = new_job(max_epochs=2)
    store = FaultyStore(str(tmp_path), at=2)
    kw = dict(session_factory=session_factory, solver_cache=solvers, artifacts=store,
              worker=Worker(name="w1", heartbeat_s=0.5))
    assert run_delivery(job_id, **kw) == "retry"
    job = _job(session_factory, job_id)
    assert (job["status"], job["epochs_done"], job["failed_deliveries"]) == ("queued", 1, 1)
    assert "no space left on device" in job["error"]
    assert [_count(session_factory, t, job_id) for t in ("epochs", "predictions", "adapters")] == [2, 4, 1]
    first = _epoch0(session_factory, job_id)

    assert run_delivery(job_id, **kw) == "done"
    job = _job(session_factory, job_id)
    assert (job["status"], job["resumed_from_epoch"], job["delivery_count"]) == ("done", 1, 2)
    assert job["sandbox"] == solvers.solver.executor.isolation.summary()
    assert job["sandbox"].startswith("strict: ")
    assert [_count(session_factory, t, job_id) for t in ("epochs", "predictions", "adapters", "attempts")] \
        == [3, 6, 2, 1]
    assert _epoch0(session_factory, job_id) == first  # replayed, not sampled again

    before = row_counts(session_factory)
    assert run_delivery(job_id, **kw) == "skipped"  # a redelivered message of a finished job
    assert row_counts(session_factory) == before


def test_failures_are_final_after_max_deliveries(new_job, session_factory, solvers, tmp_path):
    run_id, job_id = new_job()
    store = FaultyStore(str(tmp_path), at=1, times=99)
    kw = dict(session_factory=session_factory, solver_cache=solvers, artifacts=store,
              worker=Worker(name="w2", max_deliveries=2))
    assert run_delivery(job_id, **kw) == "retry"
    assert run_delivery(job_id, **kw) == "failed"
    job = _job(session_factory, job_id)
    assert (job["status"], job["failed_deliveries"], job["delivery_count"]) == ("failed", 2, 2)
    assert _count(session_factory, "epochs", job_id) == 1  # epoch 0 was kept, never redone
    assert run_delivery(job_id, **kw) == "skipped"


def test_deliveries_lost_with_their_worker_are_bounded(new_job, session_factory, tmp_path):
    """Claims that never reported back (the worker was killed) count against max_deliveries."""
    run_id, job_id = new_job()
    for _ in range(3):
        with session_factory() as s:
            assert writes.claim_job(session=s, job_id=job_id, worker_host="h", worker_name="lost",
                                    gpu=None) is not None
    outcome = run_delivery(job_id, session_factory=session_factory, solver_cache=SolverCache(),
                      artifacts=ArtifactStore(str(tmp_path)), worker=Worker(max_deliveries=3))
    assert outcome == "failed"
    job = _job(session_factory, job_id)
    assert job["status"] == "failed" and "gave up after 3 deliveries" in job["error"]


def test_cancel_stops_at_the_next_epoch(new_job, session_factory, solvers, tmp_path):
    def cancel(run_id):
        with session_factory() as s:
            writes.cancel_run(session=s, run_id=run_id)

    run_id, job_id = new_job(max_epochs=3)
    store = FaultyStore(str(tmp_path), at=1, action=cancel)
    outcome = run_delivery(job_id, session_factory=session_factory, solver_cache=solvers, artifacts=store)
    assert outcome == "cancelled"
    job = _job(session_factory, job_id)
    assert (job["status"], job["stop_reason"]) == ("cancelled", "cancelled")
    assert _count(session_factory, "epochs", job_id) == 2  # epochs 0 and 1, not 2 and 3
    assert _count(session_factory, "attempts", job_id) == 1
