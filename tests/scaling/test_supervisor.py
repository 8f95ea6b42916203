"""`arcfarm worker` as a real process tree on the CPU: one Celery child per (fake) GPU, pinned and
named; a child killed with SIGKILL is restarted and its job resumes on another delivery; SIGTERM
stops a job at an epoch boundary and puts it back in the queue; queues keep runs apart and run
priority decides what a worker takes first.

Jobs run the real loop on the tiny random model (tests/conftest.py), made long enough (21 short
epochs) that a signal sent once an early epoch is committed lands mid-job, with epochs to spare.
"""
from __future__ import annotations

import os
import signal
import socket

import pytest
import redis
import sqlalchemy as sa

from arcfarm.arc.tasks import parse_task
from arcfarm.jobs import submit
from arcfarm.jobs.queue import CeleryQueue
from arcfarm.learn.config import load_config

from farm_helpers import TASKS, tiny_overrides, wait_for

pytestmark = pytest.mark.slow
HOST = socket.gethostname()
SLOW = {"max_epochs": 20, "initial_predictions": 4, "predictions_per_epoch": 4, "max_new_tokens": 128}


def _submit(session_factory, settings, model_dir, queue: str, task_ids: list[str],
            priority: int = 0, slow: bool = True) -> int:
    config = load_config("tiny-cpu", values={**tiny_overrides(model_dir), **(SLOW if slow else {})})
    tasks = [parse_task(f"{t}-{queue}-{priority}", TASKS[t]) for t in task_ids]
    with session_factory() as s:
        run_id = submit.create_run(session=s, settings=settings, name=queue, dataset="scaling",
                                   tasks=tasks, config=config, queue=queue, priority=priority)
        jobs = CeleryQueue(settings)
        try:
            submit.enqueue_run(session=s, queue=jobs, run_id=run_id)
        finally:
            jobs.close()
    return run_id


def _jobs(session_factory, run_id: int) -> list[dict]:
    with session_factory() as s:
        return [dict(r) for r in s.execute(sa.text("SELECT * FROM jobs WHERE run_id = :r ORDER BY id"),
                                           {"r": run_id}).mappings()]


def _epoch_rows(session_factory, job_id: int) -> list[int]:
    with session_factory() as s:
        return list(s.execute(sa.text("SELECT epoch FROM epochs WHERE job_id = :j ORDER BY epoch"),
                              {"j": job_id}).scalars())


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def _run_done(session_factory, run_id: int, sup):
    def check():
        assert sup.proc.poll() is None, sup.log.read_text()[-3000:]
        jobs = _jobs(session_factory, run_id)
        return jobs if all(j["status"] == "done" for j in jobs) else None
    return check


def _mid_job(session_factory, run_id: int):
    """A job of the run that committed an epoch and has most of its epochs still to go."""
    def check():
        return next((j for j in _jobs(session_factory, run_id) if j["status"] == "running"
                     and 0 <= j["epochs_done"] <= SLOW["max_epochs"] - 8), None)
    return check


def test_sigkilled_child_is_restarted_and_its_job_resumes(
        start_supervisor, session_factory, farm_settings, tiny_model_dir, queue_name):
    other = _submit(session_factory, farm_settings, tiny_model_dir, f"{queue_name}-l4", ["flip"])
    sup = start_supervisor("all", f"{queue_name}-h100", fake_gpus=2)
    run_id = _submit(session_factory, farm_settings, tiny_model_dir, f"{queue_name}-h100",
                     ["flip", "same"])

    victim = wait_for(_mid_job(session_factory, run_id), 120, "a job after epoch 0", sup.log)
    pid = sup.pid_of(victim["worker_name"])
    os.kill(pid, signal.SIGKILL)
    wait_for(lambda: sup.pid_of(victim["worker_name"]) != pid, 60, "the restart", sup.log)
    jobs = wait_for(_run_done(session_factory, run_id, sup), 180, "the run to finish", sup.log)

    # Each fake GPU got its own child, pinned and named, and the job rows say who ran what.
    assert sorted((n, g) for n, _, g in sup.starts()[:2]) == [(f"gpu0@{HOST}", "0"), (f"gpu1@{HOST}", "1")]
    assert {(j["worker_name"], j["gpu"]) for j in jobs} <= {(f"gpu0@{HOST}", "0"), (f"gpu1@{HOST}", "1")}
    assert all(j["worker_host"] == HOST and j["heartbeat_at"] is not None for j in jobs)
    killed = next(j for j in jobs if j["id"] == victim["id"])
    assert killed["delivery_count"] == 2 and killed["failed_deliveries"] == 1
    assert killed["resumed_from_epoch"] >= victim["epochs_done"]
    assert _epoch_rows(session_factory, killed["id"]) == list(range(SLOW["max_epochs"] + 1))
    assert not _alive(pid) and all(_alive(sup.pid_of(n)) for n in (f"gpu0@{HOST}", f"gpu1@{HOST}"))

    # The run on the l4 queue was never touched by the h100 workers.
    waiting, = _jobs(session_factory, other)
    assert waiting["status"] == "queued" and waiting["delivery_count"] == 0
    assert waiting["worker_name"] is None
    assert sup.stop() == 0


def test_sigterm_requeues_at_an_epoch_boundary_and_another_worker_resumes(
        start_supervisor, session_factory, farm_settings, tiny_model_dir, queue_name, redis_url):
    queue = f"{queue_name}-term"
    run_id = _submit(session_factory, farm_settings, tiny_model_dir, queue, ["flip"])
    sup = start_supervisor("none", queue)
    wait_for(_mid_job(session_factory, run_id), 120, "the job after epoch 0", sup.log)
    child = sup.pid_of(f"cpu@{HOST}")
    assert sup.stop() == 0
    assert not _alive(child)

    job, = _jobs(session_factory, run_id)
    assert job["status"] == "queued" and job["delivery_count"] == 0  # released, not cancelled
    assert 0 <= job["epochs_done"] < SLOW["max_epochs"] and job["finished_at"] is None
    client = redis.Redis.from_url(redis_url)
    assert sum(client.llen(k) for k in client.scan_iter(f"{queue}*")) == 1  # its message is back

    # Two more runs on the queue, the urgent one submitted last; then a (fake) GPU worker.
    low = _submit(session_factory, farm_settings, tiny_model_dir, queue, ["same"], slow=False)
    high = _submit(session_factory, farm_settings, tiny_model_dir, queue, ["same"], priority=9,
                   slow=False)
    sup = start_supervisor("all", queue, fake_gpus=1)
    for run in (run_id, low, high):
        wait_for(_run_done(session_factory, run, sup), 180, f"run {run}", sup.log)
    job, = _jobs(session_factory, run_id)
    assert job["worker_name"] == f"gpu0@{HOST}" and job["gpu"] == "0"
    assert job["delivery_count"] == 1 and job["resumed_from_epoch"] >= 0
    assert _epoch_rows(session_factory, job["id"]) == list(range(SLOW["max_epochs"] + 1))
    assert _jobs(session_factory, high)[0]["started_at"] < _jobs(session_factory, low)[0]["started_at"]
    assert sup.stop() == 0
