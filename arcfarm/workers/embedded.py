"""Embedded mode: the whole farm in one process, on SQLite, with no broker.

With neither ARCFARM_DATABASE_URL nor ARCFARM_BROKER_URL set, `arcfarm submit` and `arcfarm demo`
write the run to $ARCFARM_HOME/arcfarm.db (migrated on first use) and then run its queued jobs
here, one after another, through the same `job_runner.run_delivery` that Celery workers call. Nothing
else differs: the same rows, views, adapters and submission come out.

    runner = EmbeddedRunner(get_settings())
    runner.drain()          # every queued (or stale running) job, until none is left

The API in embedded mode hands its jobs to an `EmbeddedQueue` (the JobQueue protocol of
arcfarm.jobs.queue), a thread of the API process that drains them.
"""
from __future__ import annotations

import logging
import socket
import threading
from typing import TYPE_CHECKING, Callable

from arcfarm.db import reads
from arcfarm.db.connection import make_db_engine, make_session_factory
from arcfarm.jobs.queue import QueuedJob
from arcfarm.settings import Settings
from arcfarm.workers.artifacts import ArtifactStore

if TYPE_CHECKING:
    from arcfarm.workers.job_runner import DeliveryOutcome, SolverCache

log = logging.getLogger(__name__)


class EmbeddedRunner:
    """Runs queued jobs in this process; the Solver (model, sandbox pool) is kept across jobs."""

    def __init__(self, settings: Settings, solver_cache: SolverCache | None = None):
        # Imported here, not at the top: importing this module must not load torch.
        from arcfarm.workers.job_runner import SolverCache, Worker

        self.settings = settings
        self.engine = make_db_engine(settings.db_url)
        self.session_factory = make_session_factory(self.engine)
        self.solver_cache = solver_cache or SolverCache()
        self.artifacts = ArtifactStore(settings.artifacts)
        self.worker = Worker(name=f"embedded@{socket.gethostname()}",
                             heartbeat_s=settings.heartbeat_s,
                             max_deliveries=settings.max_deliveries,
                             stale_after_s=settings.stale_after_s, db_retry_s=settings.db_retry_s)

    def drain(self, run_id: int | None = None, stop: Callable[[], bool] = lambda: False,
              on_job: Callable[[int, DeliveryOutcome], None] | None = None) -> dict[int, DeliveryOutcome]:
        """Run queued jobs (of `run_id`, or all) until none is left; {job_id: last outcome}.

        Running jobs whose heartbeat is stale (their process died) are resumed too: embedded
        mode has no broker to redeliver them."""
        from arcfarm.workers.job_runner import DeliveryOutcome

        outcomes: dict[int, DeliveryOutcome] = {}
        while not stop():
            with self.session_factory() as session:
                found = reads.queued_jobs(session=session, run_id=run_id) + reads.stale_jobs(
                    session=session, older_than_s=self.settings.stale_after_s)
                jobs = [j for j in found if run_id is None or j.run_id == run_id]
            if not jobs:
                break
            job = jobs[0]
            outcome = self._run(job.job_id)
            if outcome == DeliveryOutcome.SKIPPED and outcomes.get(job.job_id) == DeliveryOutcome.SKIPPED:
                raise RuntimeError(f"job {job.job_id} is queued but cannot be claimed")
            outcomes[job.job_id] = outcome
            if on_job is not None:
                on_job(job.job_id, outcome)
        return outcomes

    def _run(self, job_id: int) -> DeliveryOutcome:
        from arcfarm.workers.job_runner import run_delivery

        return run_delivery(job_id, session_factory=self.session_factory,
                       solver_cache=self.solver_cache, artifacts=self.artifacts,
                       worker=self.worker)

    def close(self) -> None:
        self.solver_cache.close()
        self.engine.dispose()


class EmbeddedQueue:
    """A background thread of this process that drains queued jobs (the API in embedded mode)."""

    def __init__(self, settings: Settings):
        self.settings = settings
        self.wake = threading.Event()
        self.stopping = threading.Event()
        self.thread: threading.Thread | None = None
        self.lock = threading.Lock()

    def enqueue(self, jobs: list[QueuedJob]) -> None:  # the rows say which; drain runs them all
        with self.lock:
            if self.thread is None:
                self.thread = threading.Thread(target=self._loop, name="arcfarm-embedded",
                                               daemon=True)
                self.thread.start()
        self.wake.set()

    def _loop(self) -> None:
        runner = EmbeddedRunner(self.settings)
        try:
            while not self.stopping.is_set():
                self.wake.wait()
                self.wake.clear()
                if not self.stopping.is_set():
                    runner.drain(stop=self.stopping.is_set)
        except Exception:  # noqa: BLE001 - logged; the rows stay queued for the next start
            log.exception("embedded queue stopped")
        finally:
            runner.close()

    def waiting_job_ids(self, queues: set[str]) -> None:
        return None  # no broker: every queued row is "waiting"

    def ping(self) -> None:
        return None

    def close(self) -> None:
        self.stopping.set()
        self.wake.set()
        if self.thread is not None:
            self.thread.join(timeout=5)
