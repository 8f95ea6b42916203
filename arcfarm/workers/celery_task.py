"""The Celery tasks: `arcfarm.run_job(job_id)`, a few lines around `job_runner.run_delivery`, and
`arcfarm.run_training(training_id)` (queue `train`) around `training_runner.run_training`.

Everything the task needs lives once per worker process (`context()`): the database sessions,
the artifact store, and the Solver (model loaded on the first job, then kept with its sandbox
pool for every later job). A failed job with deliveries left is sent again to the same queue.
When the worker is ready, a Reconciler thread starts (arcfarm.jobs.reconciler).
"""
from __future__ import annotations

import importlib
import os
import socket
import threading
from functools import cache
from typing import Any, Callable

from celery import shared_task
from celery.signals import worker_ready, worker_shutdown, worker_shutting_down

from arcfarm.db.connection import make_db_engine, make_session_factory
from arcfarm.jobs.broker import RUN_JOB, RUN_TRAINING
from arcfarm.jobs.reconciler import Reconciler
from arcfarm.settings import get_settings
from arcfarm.workers.artifacts import ArtifactStore
from arcfarm.workers.job_runner import DeliveryOutcome, SolverCache, Worker, run_delivery
from arcfarm.workers.training_runner import BaseModelCache
from arcfarm.workers.training_runner import run_training as _run_training


@cache
def context() -> dict:
    """This worker process's sessions, solver cache, artifact store and identity."""
    settings = get_settings()
    gpu = os.environ.get("CUDA_VISIBLE_DEVICES") or None
    return {
        "session_factory": _session_factory(settings.db_url),
        "solver_cache": SolverCache(),
        "artifacts": ArtifactStore(settings.artifacts),
        "worker": Worker(name=os.environ.get("ARCFARM_WORKER_NAME", f"worker@{socket.gethostname()}"),
                         gpu=gpu, heartbeat_s=settings.heartbeat_s,
                         max_deliveries=settings.max_deliveries,
                         stale_after_s=settings.stale_after_s, db_retry_s=settings.db_retry_s,
                         fault_hook=_load_hook(settings.fault_hook), stopping=SHUTDOWN),
    }


@cache
def _session_factory(url: str):
    return make_session_factory(make_db_engine(url))


def _load_hook(spec: str | None) -> Callable[..., Any] | None:
    """ARCFARM_FAULT_HOOK=`module:function` (tests only), imported once per worker process."""
    if not spec:
        return None
    module, _, name = spec.partition(":")
    return getattr(importlib.import_module(module), name)


_reconciler: list[Reconciler] = []


@worker_ready.connect
def _start_reconciler(**_: Any) -> None:
    settings = get_settings()
    _reconciler.append(Reconciler(settings, _session_factory(settings.db_url)).start())


@worker_shutdown.connect
def _stop_reconciler(**_: Any) -> None:
    while _reconciler:
        _reconciler.pop().stop()


# Set by Celery's SIGTERM/SIGINT handler (warm shutdown); the runner then stops the job at the
# next epoch boundary and puts it back in the queue instead of running it to its end.
SHUTDOWN = threading.Event()


@worker_shutting_down.connect
def _shutting_down(**_: Any) -> None:
    SHUTDOWN.set()


@shared_task(name=RUN_JOB, bind=True, ignore_result=True, acks_late=True)
def run_job(self, job_id: int) -> str:
    outcome = run_delivery(int(job_id), **context())
    if outcome in (DeliveryOutcome.RETRY, DeliveryOutcome.RELEASED):
        raise self.retry(countdown=0, max_retries=None)  # same queue; the job row says queued
    return outcome


@cache
def _base_models() -> BaseModelCache:
    return BaseModelCache()


@shared_task(name=RUN_TRAINING, bind=True, ignore_result=True, acks_late=True)
def run_training(self, training_id: int) -> str:
    ctx, settings = context(), get_settings()
    outcome = _run_training(int(training_id), session_factory=ctx["session_factory"],
                            artifacts=ctx["artifacts"], worker_name=ctx["worker"].name,
                            models=_base_models(), max_deliveries=settings.max_deliveries,
                            db_retry_s=settings.db_retry_s)
    if outcome == DeliveryOutcome.RETRY:
        raise self.retry(countdown=0, max_retries=None)  # the row says queued again
    return outcome
