"""The Celery task: `arcfarm.run_job(job_id)`, a few lines around `runner.run_job`.

Everything the task needs lives once per worker process (`context()`): the database sessions,
the artifact store, and the Solver (model loaded on the first job, then kept with its sandbox
pool for every later job). A failed job with deliveries left is sent again to the same queue.
"""
from __future__ import annotations

import os
import socket
from functools import cache

from celery import shared_task

from arcfarm.db.engine import make_engine, make_session_factory
from arcfarm.settings import get_settings
from arcfarm.workers.artifacts import ArtifactStore
from arcfarm.workers.runner import SolverCache, Worker, run_job as _run_job


@cache
def context() -> dict:
    """This worker process's sessions, solver cache, artifact store and identity."""
    settings = get_settings()
    gpu = os.environ.get("CUDA_VISIBLE_DEVICES") or None
    return {
        "session_factory": make_session_factory(make_engine(settings.db_url)),
        "solver_cache": SolverCache(),
        "artifacts": ArtifactStore(settings.artifacts),
        "worker": Worker(name=os.environ.get("ARCFARM_WORKER_NAME", f"worker@{socket.gethostname()}"),
                         gpu=gpu, heartbeat_s=settings.heartbeat_s,
                         max_deliveries=settings.max_deliveries),
    }


@shared_task(name="arcfarm.run_job", bind=True, ignore_result=True, acks_late=True)
def run_job(self, job_id: int) -> str:
    outcome = _run_job(int(job_id), **context())
    if outcome == "retry":
        raise self.retry(countdown=0, max_retries=None)  # same queue; the job row says queued
    return outcome
