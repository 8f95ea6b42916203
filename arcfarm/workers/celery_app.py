"""The Celery app of the workers: a Redis broker, late acks, one message at a time, no result
backend (the settings and why: arcfarm.jobs.broker).

Start a worker (one solo-pool process per GPU; `arcfarm worker` does this for every GPU):

    ARCFARM_DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1/arcfarm \
    ARCFARM_BROKER_URL=redis://127.0.0.1:6379/0 \
    celery -A arcfarm.workers.celery_app:app worker --pool solo --concurrency 1 -Q arcfarm

The module-level `app` is configured lazily from the environment, the first time Celery reads
its configuration: importing this module reads no settings.
"""
from __future__ import annotations

from typing import Any

from celery import Celery

from arcfarm.jobs.broker import celery_config
from arcfarm.settings import Settings, get_settings

TASK_MODULE = "arcfarm.workers.celery_task"  # registers arcfarm.run_job when the worker starts


def make_celery(settings: Settings | None = None) -> Celery:
    """A Celery app configured from `settings`, or from the environment when first configured."""
    celery = Celery("arcfarm", include=[TASK_MODULE])
    if settings is not None:
        celery.config_from_object(celery_config(settings))
    else:
        celery.on_configure.connect(_configure_from_env, weak=False)
    return celery


def _configure_from_env(sender: Celery, **_: Any) -> None:
    sender.config_from_object(celery_config(get_settings()))  # sender.conf is not ready yet


app = make_celery()
