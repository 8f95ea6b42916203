"""/runs: submit a run, follow its progress, read its tasks and submission, cancel it.

POST /runs writes the run and its jobs in one transaction, then enqueues one message per job
(should the broker be down then, the run is still created, with "enqueued": false, and
`arcfarm reconcile` sends its messages later).
Bad tasks or configs are 422 with a message naming the task (or config key) and the field;
a body that is not JSON is 400, one over ARCFARM_MAX_BODY_MB is 413; nothing is stored then.
Overrides must pass the operator's policy (arcfarm.api.policy). Run ids outside 1..2^31-1 and
`?limit` outside 1..1000 are 422; unknown runs are 404.
"""
from __future__ import annotations

import logging
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query, status
from sqlalchemy.orm import Session

from arcfarm.api.deps import (
    PolicyDep,
    QueueDep,
    RunCreateDep,
    RunId,
    SessionDep,
    SettingsDep,
    TaskIdDep,
)
from arcfarm.api.schemas import (
    Cancelled,
    RunCreate,
    RunCreated,
    RunProgress,
    RunSummary,
    Submission,
    TaskDetail,
    TaskResultRow,
)
from arcfarm.arc.datasets import NAMED_DATASETS
from arcfarm.arc.grids import TaskError
from arcfarm.db import reads, writes
from arcfarm.db.status import JOB_OPEN, JobStatus
from arcfarm.jobs import submit
from arcfarm.learn.config import CONFIG_DIR, ConfigError, bundled_configs

log = logging.getLogger(__name__)
router = APIRouter(prefix="/runs", tags=["runs"])


MAX_LIST = 1000  # GET /runs returns at most this many runs (the newest first)


_RUN_CREATE_BODY = {"requestBody": {"required": True, "content": {
    "application/json": {"schema": RunCreate.model_json_schema(ref_template="#/components/schemas/{model}")}}}}


@router.post("", status_code=status.HTTP_201_CREATED, response_model=RunCreated,
             openapi_extra=_RUN_CREATE_BODY)
def create_run(body: RunCreateDep, session: SessionDep, queue: QueueDep,
               settings: SettingsDep, policy: PolicyDep) -> RunCreated:
    if body.dataset is not None:
        dataset, tasks = _named_dataset(body)
    else:
        dataset, tasks = "inline", submit.tasks_from_json(body.tasks)
    config = submit.build_config(_bundled_config(body.config), overrides=body.overrides)
    policy.check(body.overrides, config)  # the operator's keys, ranges and models
    run_id = submit.create_run(session=session, settings=settings,
                               name=body.name or dataset, dataset=dataset, tasks=tasks,
                               config=config, queue=body.queue, priority=body.priority)
    try:
        submit.enqueue_run(session=session, queue=queue, run_id=run_id)
    except Exception:  # noqa: BLE001 - the run is committed; `arcfarm reconcile` sends its jobs
        log.warning("run %s stored but not enqueued; run `arcfarm reconcile`", run_id, exc_info=True)
        return RunCreated(run_id=run_id, jobs=len(tasks), enqueued=False)
    return RunCreated(run_id=run_id, jobs=len(tasks), enqueued=True)


@router.get("", response_model=list[RunSummary])
def list_runs(session: SessionDep,
              limit: Annotated[int, Query(ge=1, le=MAX_LIST)] = 100) -> list[RunSummary]:
    return [RunSummary(**row) for row in reads.list_runs(session=session, limit=limit)]


@router.get("/{run_id}", response_model=RunProgress)
def get_run(run_id: RunId, session: SessionDep) -> RunProgress:
    progress = reads.run_progress(session=session, run_id=run_id)
    if progress is None:
        raise _not_found(run_id)
    return RunProgress(**progress, eta_s=eta_seconds(progress))


@router.get("/{run_id}/tasks", response_model=list[TaskResultRow])
def get_run_tasks(run_id: RunId, session: SessionDep) -> list[TaskResultRow]:
    _check_run(session, run_id)
    return [TaskResultRow(**row) for row in reads.run_tasks(session=session, run_id=run_id)]


@router.get("/{run_id}/tasks/{task_id:path}", response_model=TaskDetail)  # ids may hold "/"
def get_run_task(run_id: RunId, task_id: TaskIdDep, session: SessionDep) -> TaskDetail:
    detail = reads.task_detail(session=session, run_id=run_id, task_id=task_id)
    if detail is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"run {run_id} has no task {task_id!r}")
    return TaskDetail(**detail)


@router.get("/{run_id}/submission", response_model=Submission)
def get_submission(run_id: RunId, session: SessionDep) -> Submission:
    _check_run(session, run_id)
    return reads.submission(session=session, run_id=run_id)


@router.post("/{run_id}/cancel", response_model=Cancelled)
def cancel_run(run_id: RunId, session: SessionDep) -> Cancelled:
    _check_run(session, run_id)
    return Cancelled(run_id=run_id, cancelled_jobs=writes.cancel_run(session=session, run_id=run_id))


def eta_seconds(progress: dict[str, Any]) -> float | None:
    """Jobs left times the mean seconds of finished jobs, spread over the jobs running now."""
    jobs = progress["jobs"]
    left = sum(jobs[status.value] for status in JOB_OPEN)
    if left == 0:
        return 0.0
    if not progress["n_done"]:
        return None
    mean = progress["worker_seconds"] / progress["n_done"]
    return left * mean / max(1, jobs[JobStatus.RUNNING.value])


def _named_dataset(body: RunCreate) -> tuple[str, submit.TaskList]:
    # Only the named sets: the API must not read arbitrary files of the server.
    if body.dataset not in NAMED_DATASETS:
        raise TaskError(f"dataset {body.dataset!r}: not a named dataset; named datasets: "
                        f"{', '.join(NAMED_DATASETS)}")
    return submit.load_dataset(body.dataset, body.task_ids, body.limit)


def _bundled_config(name: str) -> str:
    """The path of a bundled config; any other name, path or not, gets the same answer (the API
    must not tell whether a file exists on the server)."""
    stem = name.removesuffix(".yaml")
    if stem not in bundled_configs():
        raise ConfigError(f"config {name!r}: not a bundled config; the API takes "
                          f"{', '.join(bundled_configs())}")
    return str(CONFIG_DIR / f"{stem}.yaml")


def _check_run(session: Session, run_id: int) -> None:
    """404 unless the run exists (a primary-key lookup, not the run_summary view)."""
    if not reads.run_exists(session=session, run_id=run_id):
        raise _not_found(run_id)


def _not_found(run_id: int) -> HTTPException:
    return HTTPException(status.HTTP_404_NOT_FOUND, f"run {run_id} not found")
