"""Job and run states: the strings stored in `jobs.status` and `runs.status`, named once.

The producer side (arcfarm.jobs, the API, the CLI) and the consumer side (arcfarm.workers) both
use them. They are `str` enums, so a member is its stored string: `JobStatus.QUEUED == "queued"`,
and rows, views and JSON keep holding plain strings. This module imports nothing heavy.

    queued ──claim──► running ──finish──► done
      ▲                  │ └──fail (deliveries left), release, worker lost──► queued
      │                  └──fail (last delivery)──► failed
      └── any open job ──cancel──► cancelled
"""
from __future__ import annotations

from enum import Enum


class StrEnum(str, Enum):
    """A `str` enum whose str() is its value (enum.StrEnum from Python 3.11, also on 3.10)."""

    def __str__(self) -> str:
        return str(self.value)


class JobStatus(StrEnum):
    QUEUED = "queued"  # waiting for a worker; also after a retryable failure or a release
    RUNNING = "running"  # claimed; its worker stamps heartbeat_at while it is alive
    DONE = "done"  # attempts stored
    FAILED = "failed"  # out of deliveries; jobs.error says why
    CANCELLED = "cancelled"  # its run was cancelled


JOB_OPEN = (JobStatus.QUEUED, JobStatus.RUNNING)  # a worker may still take or finish it
JOB_TERMINAL = (JobStatus.DONE, JobStatus.FAILED, JobStatus.CANCELLED)


class RunStatus(StrEnum):
    QUEUED = "queued"  # no job claimed yet
    RUNNING = "running"  # some job was claimed
    DONE = "done"  # every job is done, failed or cancelled
    CANCELLED = "cancelled"


RUN_OPEN = (RunStatus.QUEUED, RunStatus.RUNNING)
RUN_TERMINAL = (RunStatus.DONE, RunStatus.CANCELLED)


# The Celery queue of a run that names none; workers consume it unless told otherwise (-Q).
DEFAULT_QUEUE = "arcfarm"
