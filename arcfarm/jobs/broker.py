"""What the producer and the consumer agree on about messages: the task name, the default queue,
priorities, and the Celery settings of the Redis broker. Importing this module imports no Celery.

Why these settings: a job runs for up to hours, so the message is acked only when the job is
over (`task_acks_late`) and goes back to the queue if the worker process dies
(`task_reject_on_worker_lost`); each worker reserves one message only (`prefetch 1`), so a
queued job never waits behind a busy GPU. Redis re-delivers an unacked message after
`visibility_timeout`, so that must exceed the longest job (settings enforce it per run).
Results live in the database, never in a result backend.
"""
from __future__ import annotations

from typing import Any

from arcfarm.db.status import DEFAULT_QUEUE  # named once there: the runs table's default too
from arcfarm.settings import Settings, SettingsError

RUN_JOB = "arcfarm.run_job"  # the Celery task's name; its one argument is the job id
# `arcfarm learn` as a farm job: its one argument is the training id; on a queue of its own, so
# only workers started with `-Q train` (a GPU that can hold the model for training) take it.
RUN_TRAINING = "arcfarm.run_training"
TRAIN_QUEUE = "train"

# Kombu's Redis transport keeps one list per priority step: "<queue>" for 0, else
# "<queue>\x06\x16<step>" (steps 0..9, see celery_config).
PRIORITY_SEP = "\x06\x16"


def celery_config(settings: Settings) -> dict[str, Any]:
    if not settings.broker_url:
        raise SettingsError("ARCFARM_BROKER_URL is not set: Celery messages need a Redis broker")
    transport = {
        "visibility_timeout": settings.visibility_timeout_s,
        # Run priority 9 (most urgent) .. 0 maps onto Redis's ten priority lists.
        "queue_order_strategy": "priority",
        "priority_steps": list(range(10)),
    }
    return {
        "broker_url": settings.broker_url,
        "broker_transport_options": transport,
        "result_backend": None,
        "result_backend_transport_options": {"visibility_timeout": settings.visibility_timeout_s},
        "task_ignore_result": True,
        "task_acks_late": True,
        "task_reject_on_worker_lost": True,
        "worker_prefetch_multiplier": 1,
        "task_default_queue": DEFAULT_QUEUE,
        "task_routes": {RUN_JOB: {"queue": DEFAULT_QUEUE}, RUN_TRAINING: {"queue": TRAIN_QUEUE}},
        "task_serializer": "json",
        "accept_content": ["json"],
        "broker_connection_retry_on_startup": True,
        "worker_hijack_root_logger": False,
    }


def message_priority(run_priority: int) -> int:
    """Redis serves priority 0 first; runs say "higher is more urgent". Clamped to 0..9."""
    return 9 - max(0, min(9, run_priority))
