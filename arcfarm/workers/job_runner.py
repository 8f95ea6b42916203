"""The job runner: claim a job, run the search-and-learn loop on its task, persist as it goes.

    run_delivery(job_id, session_factory=..., solver_cache=..., artifacts=...)

is what both the Celery task (arcfarm.workers.celery_task) and the embedded in-process queue call.
It reads everything from the database by id, so a message carries only the job id:

1. claim: `writes.claim_job` marks the job running (or returns None: the job is done, failed or
   cancelled, so a redelivered message is harmless and returns "skipped"); a job delivered
   more than `max_deliveries` times (its workers kept dying) is failed for good;
2. build the run's RunConfig and the Task from the stored rows (a `base_adapter: training:<id>`
   is fetched once per process and merged into the model: workers.base_adapters);
3. resume: epochs an earlier delivery committed are replayed from `reads.job_records`, with the
   last committed adapter fetched from the artifact store; the loop carries on from there;
4. solve, with hooks: after each epoch the adapter is uploaded first, then the epoch, its
   predictions and the adapter row are written in one transaction; `should_stop` polls the
   run's cancel flag; a heartbeat thread keeps `jobs.heartbeat_at` fresh;
5. finish (attempts, score) or, on an exception, fail: a failure that still has deliveries
   left puts the job back in the queue ("retry"), otherwise it is final ("failed").

Every database call goes through `retry_db`: should PostgreSQL restart mid-job, the worker
waits (exponential backoff, up to `Worker.db_retry_s`) and carries on where it was.
"""
from __future__ import annotations

import logging
import socket
import tempfile
import threading
import traceback
from dataclasses import dataclass, field
from typing import Any, Callable

from sqlalchemy.orm import Session, sessionmaker

from arcfarm.arc.tasks import parse_task
from arcfarm.db import reads, writes
from arcfarm.db.retry import retry_db
from arcfarm.db.status import StrEnum
from arcfarm.learn.config import RunConfig
from arcfarm.learn.loop import LoopHooks, ResumeState
from arcfarm.learn.records import EpochRecord, PredictionRecord, TaskResult
from arcfarm.learn.solver import Solver, adapter_lora_config
from arcfarm.workers.artifacts import ArtifactStore
from arcfarm.workers.base_adapters import BaseAdapters

log = logging.getLogger(__name__)


class DeliveryOutcome(StrEnum):
    """How one delivery of a job ended (what `run_delivery` returns)."""

    DONE = "done"  # attempts stored, job done
    CANCELLED = "cancelled"  # the run was cancelled; the job stopped at an epoch boundary
    SKIPPED = "skipped"  # nothing to do: finished, failed, cancelled, or alive elsewhere
    RETRY = "retry"  # failed with deliveries left: queued again
    FAILED = "failed"  # failed for good
    RELEASED = "released"  # the worker is shutting down: queued again, to resume elsewhere


class SolverCache:
    """One Solver per worker process, kept across jobs; rebuilt only when a run needs another
    model or LoRA structure (the old one is closed first: one model in GPU memory at a time)."""

    def __init__(self, factory: Callable[[RunConfig], Any] = Solver):
        self.factory = factory
        self.solver: Any = None
        self._base_adapters: BaseAdapters | None = None

    def base_adapters(self, artifacts: ArtifactStore) -> BaseAdapters:
        """The base adapters this process fetched (`base_adapter: training:<id>`), kept with the
        Solver they were merged into."""
        if self._base_adapters is None or self._base_adapters.artifacts is not artifacts:
            self._base_adapters = BaseAdapters(artifacts)
        return self._base_adapters

    def get(self, config: RunConfig) -> Any:
        if self.solver is not None and self.solver.compatible(config):
            return self.solver
        self.close()
        log.info("loading model %s", config.model)
        self.solver = self.factory(config)
        return self.solver

    def close(self) -> None:
        if self.solver is not None:
            self.solver.close()
            self.solver = None


@dataclass
class Worker:
    """Who runs the job (written on the job row) and how it reports."""

    name: str = field(default_factory=lambda: f"worker@{socket.gethostname()}")
    host: str = field(default_factory=socket.gethostname)
    gpu: str | None = None
    heartbeat_s: float = 30.0
    max_deliveries: int = 3
    # A running job whose heartbeat is fresher than this is not taken (None: always taken).
    stale_after_s: float | None = None
    db_retry_s: float = 60.0  # how long database calls are retried while it is unreachable
    # Tests only (ARCFARM_FAULT_HOOK): called as fault_hook(solver, claim) before each solve.
    fault_hook: Callable[[Any, writes.JobClaim], None] | None = None
    # Set when the worker process is asked to shut down (SIGTERM): the loop stops at the next
    # epoch boundary and the job goes back to the queue, for any worker to resume.
    stopping: threading.Event = field(default_factory=threading.Event)


class _Db:
    """Database calls of one job, each in its own session, retried while the database is away."""

    def __init__(self, session_factory: sessionmaker[Session], budget_s: float):
        self.session_factory, self.budget_s = session_factory, budget_s

    def __call__(self, fn: Callable[..., Any], **kwargs: Any) -> Any:
        def once() -> Any:
            with self.session_factory() as session:
                return fn(session=session, **kwargs)
        return retry_db(once, what=fn.__name__, budget_s=self.budget_s)


def run_delivery(job_id: int, *, session_factory: sessionmaker[Session], solver_cache: SolverCache,
            artifacts: ArtifactStore, worker: Worker | None = None) -> DeliveryOutcome:
    """Run one job to its end (this delivery of it); how it ended is the DeliveryOutcome."""
    worker = worker or Worker()
    db = _Db(session_factory, worker.db_retry_s)
    claim = db(writes.claim_job, job_id=job_id, worker_host=worker.host, worker_name=worker.name,
               gpu=worker.gpu, stale_after_s=worker.stale_after_s)
    if claim is None:
        log.info("job %s: nothing to do (finished, failed, cancelled, or alive elsewhere)", job_id)
        return DeliveryOutcome.SKIPPED
    if claim.delivery_count > worker.max_deliveries:
        # Earlier deliveries died without reporting (e.g. the process was killed): give up.
        return _fail(db, job_id, f"gave up after {claim.delivery_count - 1} "
                     "deliveries that ended without a result (worker lost?)", final=True)
    try:
        with _Heartbeat(db, job_id, worker.heartbeat_s), \
                tempfile.TemporaryDirectory(prefix="arcfarm-resume-") as scratch:
            result = _solve(claim, db, solver_cache, artifacts, scratch, worker)
    except Exception as exc:  # noqa: BLE001 - every failure is recorded on the job
        log.exception("job %s failed (delivery %d)", job_id, claim.delivery_count)
        error = "".join(traceback.format_exception(exc)).strip()
        return _fail(db, job_id, error, final=claim.delivery_count >= worker.max_deliveries)
    if result.stop_reason == "cancelled" and worker.stopping.is_set() \
            and db(writes.release_job, job_id=job_id):
        log.info("job %s: released at an epoch boundary (worker shutting down)", job_id)
        return DeliveryOutcome.RELEASED
    db(writes.finish_job, job_id=job_id, result=result)
    return DeliveryOutcome.CANCELLED if result.stop_reason == "cancelled" else DeliveryOutcome.DONE


def _fail(db: _Db, job_id: int, error: str, final: bool) -> DeliveryOutcome:
    db(writes.fail_job, job_id=job_id, error=error, final=final)
    return DeliveryOutcome.FAILED if final else DeliveryOutcome.RETRY


def _solve(claim: writes.JobClaim, db: _Db, solver_cache: SolverCache, artifacts: ArtifactStore,
           scratch: str, worker: Worker) -> TaskResult:
    config = solver_cache.base_adapters(artifacts).localize(RunConfig(**claim.config), db)
    task, _ = parse_task(claim.task_id, claim.task_json)
    solver = solver_cache.get(config)
    db(writes.record_sandbox, job_id=claim.job_id, isolation=solver.executor.isolation.summary())
    if worker.fault_hook is not None:
        worker.fault_hook(solver, claim)
    resume = _resume_state(claim, db, artifacts, scratch)
    hooks = LoopHooks(
        on_epoch=lambda epoch, preds: _persist_epoch(claim, epoch, preds, db, solver, artifacts),
        should_stop=lambda: (worker.stopping.is_set()
                             or not db(writes.heartbeat, job_id=claim.job_id)))
    return solver.solve(task, config, hooks, resume)


def _resume_state(claim: writes.JobClaim, db: _Db, artifacts: ArtifactStore,
                  scratch: str) -> ResumeState | None:
    """What earlier deliveries committed; None when they committed nothing (start afresh)."""
    if claim.epochs_done < 0:
        return None
    records = db(reads.job_records, job_id=claim.job_id)
    adapter_dir = None
    if records.adapter is not None:
        adapter_dir = artifacts.fetch_adapter(records.adapter.uri, records.adapter.sha256, scratch)
    log.info("job %s: resuming after epoch %d", claim.job_id, records.epochs_done)
    return ResumeState(epochs=records.epochs, predictions=records.predictions,
                       adapter_dir=adapter_dir)


def _persist_epoch(claim: writes.JobClaim, epoch: EpochRecord,
                   predictions: list[PredictionRecord], db: _Db, solver: Any,
                   artifacts: ArtifactStore) -> None:
    """Upload the adapter (epochs >= 1 trained one), then record everything in one transaction."""
    adapter = None
    if epoch.epoch >= 1:
        adapter = artifacts.save_adapter(solver.save_adapter, claim.run_id, claim.job_id,
                                         epoch.epoch)
        adapter["lora_config"] = adapter_lora_config(RunConfig(**claim.config))
    db(writes.record_epoch, job_id=claim.job_id, epoch=epoch, predictions=predictions,
       adapter=adapter)


class _Heartbeat:
    """A daemon thread that stamps the job's heartbeat every `interval` seconds while it runs."""

    def __init__(self, db: _Db, job_id: int, interval: float):
        self.db, self.job_id, self.interval = db, job_id, interval
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._beat, name=f"heartbeat-{job_id}", daemon=True)

    def _beat(self) -> None:
        while not self.stop.wait(self.interval):
            try:
                with self.db.session_factory() as session:  # one try: the next beat is soon
                    writes.heartbeat(session=session, job_id=self.job_id)
            except Exception:  # noqa: BLE001 - a missed beat must not kill the job
                log.warning("job %s: heartbeat failed", self.job_id, exc_info=True)

    def __enter__(self) -> "_Heartbeat":
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self.thread.join()
