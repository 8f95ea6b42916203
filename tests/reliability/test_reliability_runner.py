"""The runner in this process against the reliability database: a full disk under the adapter
store (a real 4 MB tmpfs), and the claim/read rules a redelivered message relies on."""
from __future__ import annotations

import errno
import os
import subprocess
import time
from datetime import timedelta

import pytest
import sqlalchemy as sa

from arcfarm.arc.tasks import parse_task
from arcfarm.db import reads, writes
from arcfarm.db.models import utcnow
from arcfarm.db.retry import retry_db
from arcfarm.jobs import submit
from arcfarm.learn.config import load_config
from arcfarm.settings import get_settings
from arcfarm.workers.artifacts import ArtifactError, ArtifactStore
from arcfarm.workers.job_runner import SolverCache, Worker, run_delivery

from reliability_helpers import overrides, rows, task


@pytest.fixture
def new_job(rel_session_factory, rel_env, tiny_model_dir):
    def make(**values) -> tuple[int, int]:
        config = load_config("tiny-cpu", values=overrides(tiny_model_dir, **values))
        with rel_session_factory() as s:
            run_id = submit.create_run(session=s, settings=get_settings(rel_env), name="runner",
                                       dataset="runner", tasks=[parse_task("flip", task())],
                                       config=config, queue="arcfarm-rel-nobody")
        [job] = rows(rel_session_factory, "SELECT id FROM jobs WHERE run_id = :r", r=run_id)
        return run_id, job["id"]
    return make


@pytest.fixture
def tiny_disk(tmp_path):
    """A 4 MB tmpfs, filled but for 4 kB: the adapter (hundreds of kB) cannot fit until the
    filler goes."""
    mount = tmp_path / "disk"
    mount.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", str(mount)],
                          capture_output=True, text=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.strip()}")
    filler = mount / "filler"
    try:
        with filler.open("wb") as f:
            f.write(b"\0" * (4092 * 1024))
        yield mount, filler
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


@pytest.mark.slow
def test_full_disk_is_a_clear_job_error_and_no_adapter_row(new_job, rel_session_factory,
                                                          tiny_disk):
    mount, filler = tiny_disk
    run_id, job_id = new_job()
    store = ArtifactStore(str(mount / "artifacts"))
    solvers = SolverCache()
    kw = dict(session_factory=rel_session_factory, solver_cache=solvers, artifacts=store,
              worker=Worker(name="disk", heartbeat_s=0.5, stale_after_s=30))
    try:
        assert run_delivery(job_id, **kw) == "retry"
        [job] = rows(rel_session_factory, "SELECT * FROM jobs WHERE id = :j", j=job_id)
        assert (job["status"], job["epochs_done"], job["failed_deliveries"]) == ("queued", 0, 1)
        assert "ArtifactError: adapter store" in job["error"]
        assert f"job {job_id} epoch 1" in job["error"] and "No space left on device" in job["error"]
        assert rows(rel_session_factory, "SELECT * FROM adapters WHERE job_id = :j", j=job_id) == []
        assert not (mount / "artifacts" / str(run_id) / str(job_id) / "epoch-1").exists()
        # Space again: the next delivery resumes after epoch 0 and finishes.
        filler.unlink()
        assert run_delivery(job_id, **kw) == "done"
        [job] = rows(rel_session_factory, "SELECT * FROM jobs WHERE id = :j", j=job_id)
        assert (job["status"], job["resumed_from_epoch"], job["error"]) == ("done", 0, None)
        assert len(rows(rel_session_factory, "SELECT * FROM adapters WHERE job_id = :j",
                        j=job_id)) == 1
    finally:
        solvers.close()


def test_store_error_names_errno(tmp_path):
    class Full(ArtifactStore):
        def _upload(self, local, dest):
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    def save(d):
        (tmp_path / "x").write_text("")
        open(os.path.join(d, "adapter_model.safetensors"), "wb").close()
    with pytest.raises(ArtifactError, match="No space left on device, errno 28"):
        Full(str(tmp_path / "store")).save_adapter(save, 1, 2, 3)


def _claim(factory, job_id, name, stale=5.0):
    with factory() as s:
        return writes.claim_job(session=s, job_id=job_id, worker_host="h", worker_name=name,
                                gpu=None, stale_after_s=stale)


def test_claim_refuses_a_live_job_of_another_worker(new_job, rel_session_factory):
    _, job_id = new_job()
    assert _claim(rel_session_factory, job_id, "w1").delivery_count == 1
    assert _claim(rel_session_factory, job_id, "w2") is None  # w1's heartbeat is fresh
    assert _claim(rel_session_factory, job_id, "w1").delivery_count == 2  # w1 may re-claim
    with rel_session_factory() as s:
        s.execute(sa.text("UPDATE jobs SET heartbeat_at = :t WHERE id = :j"),
                  {"t": utcnow() - timedelta(seconds=60), "j": job_id})
        s.commit()
    claim = _claim(rel_session_factory, job_id, "w2")  # stale: w1 is presumed dead
    assert claim is not None and claim.delivery_count == 3
    [job] = rows(rel_session_factory, "SELECT worker_name FROM jobs WHERE id = :j", j=job_id)
    assert job["worker_name"] == "w2"


def test_job_records_carry_the_last_adapter_and_queued_jobs_filter_by_run(
        new_job, rel_session_factory):
    from arcfarm.learn.records import EpochRecord

    run_a, job_a = new_job()
    run_b, job_b = new_job()
    with rel_session_factory() as s:
        assert [j.job_id for j in reads.queued_jobs(session=s, run_id=run_a)] == [job_a]
        assert job_b in [j.job_id for j in reads.queued_jobs(session=s)]
    _claim(rel_session_factory, job_a, "w")
    for epoch in (0, 1):
        record = EpochRecord(epoch=epoch, predictions=0, valid=0, unique_outputs=0, relabeled=0,
                             train_loss=None, train_error=None, best_train_correct=0,
                             passes_train=0, sample_s=0, execute_s=0, relabel_s=0, train_s=0,
                             reset_s=0)
        adapter = {"uri": f"file:///a/{epoch}", "sha256": "ab" * 32} if epoch else None
        with rel_session_factory() as s:
            writes.record_epoch(session=s, job_id=job_a, epoch=record, predictions=[],
                                adapter=adapter)
    with rel_session_factory() as s:
        records = reads.job_records(session=s, job_id=job_a)
        assert records.epochs_done == 1
        assert (records.adapter.epoch, records.adapter.uri) == (1, "file:///a/1")
        assert reads.queued_jobs(session=s, run_id=run_a) == []


def test_retry_db_waits_out_connection_errors_only():
    calls = []

    def flaky():
        calls.append(time.monotonic())
        if len(calls) < 3:
            raise sa.exc.OperationalError("SELECT 1", {}, Exception("server closed the connection"))
        return "ok"
    assert retry_db(flaky, what="test", budget_s=5, first_s=0.01) == "ok" and len(calls) == 3
    with pytest.raises(sa.exc.IntegrityError):
        retry_db(lambda: (_ for _ in ()).throw(sa.exc.IntegrityError("x", {}, Exception("dup"))),
                 what="test", budget_s=5)
    with pytest.raises(sa.exc.OperationalError):
        retry_db(lambda: (_ for _ in ()).throw(sa.exc.OperationalError("x", {}, Exception("down"))),
                 what="test", budget_s=0.05, first_s=0.02)
