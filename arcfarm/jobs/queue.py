"""Handing queued jobs to workers: one Celery message per job (`CeleryQueue`), or, in embedded
mode, this process's own runner (`arcfarm.workers.embedded.EmbeddedQueue`, the same protocol).

Jobs are rows first (status queued, committed) and messages second, so a crash between the
two loses nothing: `arcfarm reconcile` sends a message for every job the database says is
queued. A duplicate message is harmless (the runner's claim refuses a job it cannot take).

    queue = CeleryQueue(settings)
    queue.enqueue([QueuedJob(job_id, queue="arcfarm", priority=0), ...])

The producer needs no task code: messages name the task (`broker.RUN_JOB`), the workers'
app (arcfarm.workers.celery_app) runs it. Celery is imported when a CeleryQueue is made.
"""
from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from typing import Protocol

from arcfarm.jobs.broker import PRIORITY_SEP, RUN_JOB, RUN_TRAINING, celery_config, message_priority
from arcfarm.settings import Settings


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
        from celery import Celery

        self.app = Celery("arcfarm", set_as_current=False)
        self.app.config_from_object(celery_config(settings))

    def enqueue(self, jobs: list[QueuedJob]) -> None:
        with self.app.producer_or_acquire() as producer:
            for job in jobs:
                self.app.send_task(RUN_JOB, args=[job.job_id], queue=job.queue,
                                   priority=message_priority(job.priority), producer=producer)

    def enqueue_training(self, training_id: int, queue: str) -> None:
        """One `arcfarm.run_training(training_id)` message (after the row is committed)."""
        self.app.send_task(RUN_TRAINING, args=[training_id], queue=queue)

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
