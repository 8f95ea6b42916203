"""The Celery app: a Redis broker, late acks, one message at a time, no result backend.

Start a worker (one solo-pool process per GPU; `arcfarm worker` does this for every GPU):

    ARCFARM_DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1/arcfarm \
    ARCFARM_BROKER_URL=redis://127.0.0.1:6379/0 \
    celery -A arcfarm.workers.celery_app:app worker --pool solo --concurrency 1 -Q arcfarm

Why these settings: a job runs for up to hours, so the message is acked only when the job is
over (`task_acks_late`) and goes back to the queue if the worker process dies
(`task_reject_on_worker_lost`); each worker reserves one message only (`prefetch 1`), so a
queued job never waits behind a busy GPU. Redis re-delivers an unacked message after
`visibility_timeout`, so that must exceed the longest job (settings enforce it per run).
Results live in the database, never in a result backend.

The module-level `app` is configured lazily from the environment, the first time Celery reads
its configuration: importing this module reads no settings.
"""
from __future__ import annotations

from typing import Any

from celery import Celery

from arcfarm.settings import Settings, SettingsError, get_settings

DEFAULT_QUEUE = "arcfarm"
RUN_JOB = "arcfarm.run_job"


def celery_config(settings: Settings) -> dict[str, Any]:
    if not settings.broker_url:
        raise SettingsError("ARCFARM_BROKER_URL is not set: a Celery worker needs a Redis broker")
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
        "task_routes": {RUN_JOB: {"queue": DEFAULT_QUEUE}},
        "task_serializer": "json",
        "accept_content": ["json"],
        "broker_connection_retry_on_startup": True,
        "worker_hijack_root_logger": False,
    }


def make_celery(settings: Settings | None = None) -> Celery:
    """A Celery app configured from `settings`, or from the environment when first configured."""
    celery = Celery("arcfarm", include=["arcfarm.workers.tasks"])
    if settings is not None:
        celery.config_from_object(celery_config(settings))
    else:
        celery.on_configure.connect(_configure_from_env, weak=False)
    return celery


def _configure_from_env(sender: Celery, **_: Any) -> None:
    sender.config_from_object(celery_config(get_settings()))  # sender.conf is not ready yet


def message_priority(run_priority: int) -> int:
    """Redis serves priority 0 first; runs say "higher is more urgent". Clamped to 0..9."""
    return 9 - max(0, min(9, run_priority))


app = make_celery()
