"""Handing queued jobs to workers: Celery messages, or this process's embedded runner.

Jobs are rows first (status "queued", committed) and messages second, so a crash between the
two loses nothing: `arcfarm reconcile` sends a message for every job the database says is
queued. A duplicate message is harmless (the runner's claim refuses a job it cannot take).

    queue = make_queue(settings)
    queue.enqueue([QueuedJob(job_id, queue="arcfarm", priority=0), ...])
"""
from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from typing import Protocol

from arcfarm.settings import Settings

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class QueuedJob:
    job_id: int
    queue: str
    priority: int = 0


class JobQueue(Protocol):
    def enqueue(self, jobs: list[QueuedJob]) -> None: ...
    def ping(self) -> None: ...
    def close(self) -> None: ...


class CeleryQueue:
    """One `arcfarm.run_job(job_id)` message per job, on the run's queue."""

    def __init__(self, settings: Settings):
        from arcfarm.workers.celery_app import make_celery

        self.app = make_celery(settings)

    def enqueue(self, jobs: list[QueuedJob]) -> None:
        from arcfarm.workers.celery_app import RUN_JOB, message_priority

        with self.app.producer_or_acquire() as producer:
            for job in jobs:
                self.app.send_task(RUN_JOB, args=[job.job_id], queue=job.queue,
                                   priority=message_priority(job.priority), producer=producer)

    def ping(self) -> None:
        """Raise unless the broker answers."""
        with self.app.connection_for_write() as conn:
            conn.ensure_connection(max_retries=1, timeout=2)
            conn.default_channel.client.ping()

    def close(self) -> None:
        self.app.close()


class EmbeddedQueue:
    """A background thread of this process that drains queued jobs (the API in embedded mode)."""

    def __init__(self, settings: Settings):
        self.settings = settings
        self.wake = threading.Event()
        self.stopping = threading.Event()
        self.thread: threading.Thread | None = None
        self.lock = threading.Lock()

    def enqueue(self, jobs: list[QueuedJob]) -> None:
        with self.lock:
            if self.thread is None:
                self.thread = threading.Thread(target=self._loop, name="arcfarm-embedded",
                                               daemon=True)
                self.thread.start()
        self.wake.set()

    def _loop(self) -> None:
        from arcfarm.workers.embedded import EmbeddedRunner

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

    def ping(self) -> None:
        return None

    def close(self) -> None:
        self.stopping.set()
        self.wake.set()
        if self.thread is not None:
            self.thread.join(timeout=5)


def make_queue(settings: Settings) -> JobQueue:
    return EmbeddedQueue(settings) if settings.embedded else CeleryQueue(settings)
