"""Handing queued jobs to workers: Celery messages, or this process's embedded runner.

Jobs are rows first (status "queued", committed) and messages second, so a crash between the
two loses nothing: `arcfarm reconcile` sends a message for every job the database says is
queued. A duplicate message is harmless (the runner's claim refuses a job it cannot take).

    queue = make_queue(settings)
    queue.enqueue([QueuedJob(job_id, queue="arcfarm", priority=0), ...])
"""
from __future__ import annotations

import base64
import json
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
    def waiting_job_ids(self, queues: set[str]) -> set[int] | None: ...
    def ping(self) -> None: ...
    def close(self) -> None: ...


# Kombu's Redis transport keeps one list per priority step: "<queue>" for 0, else
# "<queue>\x06\x16<step>" (steps 0..9, see celery_app.celery_config).
PRIORITY_SEP = "\x06\x16"


def _message_job_id(raw: bytes) -> int | None:
    """The job id in a kombu Redis message (JSON envelope, base64 body `[[job_id], {}, {}]`)."""
    try:
        envelope = json.loads(raw)
        body = envelope["body"]
        if envelope.get("properties", {}).get("body_encoding") == "base64":
            body = base64.b64decode(body)
        args = json.loads(body)[0]
        return int(args[0])
    except (ValueError, KeyError, IndexError, TypeError):
        return None


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

    def waiting_job_ids(self, queues: set[str]) -> set[int]:
        """Job ids of the messages waiting in these queues (not those a worker holds unacked)."""
        ids: set[int] = set()
        with self.app.connection_for_write() as conn:
            client = conn.default_channel.client
            for queue in queues:
                keys = [queue] + [f"{queue}{PRIORITY_SEP}{step}" for step in range(1, 10)]
                for key in keys:
                    for raw in client.lrange(key, 0, -1):
                        job_id = _message_job_id(raw)
                        if job_id is not None:
                            ids.add(job_id)
        return ids

    def try_lock(self, name: str, seconds: float) -> bool:
        """True for the one caller that takes the broker-wide lock `name` for `seconds`."""
        with self.app.connection_for_write() as conn:
            client = conn.default_channel.client
            return bool(client.set(f"arcfarm:lock:{name}", "1", nx=True,
                                   px=max(1, int(seconds * 1000))))

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

    def waiting_job_ids(self, queues: set[str]) -> None:
        return None  # no broker: every queued row is "waiting"

    def ping(self) -> None:
        return None

    def close(self) -> None:
        self.stopping.set()
        self.wake.set()
        if self.thread is not None:
            self.thread.join(timeout=5)


def make_queue(settings: Settings) -> JobQueue:
    return EmbeddedQueue(settings) if settings.embedded else CeleryQueue(settings)
