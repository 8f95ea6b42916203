"""Request and response bodies of the API (Pydantic); the database rows stay in arcfarm.db.

The response bodies are the researcher views' rows (run_summary, task_results, epoch_stats,
prediction_log: the same column names, in the same order) plus a few fields of the API's own;
declaring them is what gives /docs its schemas.
"""
from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, PlainSerializer, model_validator

from arcfarm.db.status import JobStatus, RunStatus
from arcfarm.jobs.limits import MAX_TASKS_PER_RUN

Grid = list[list[int]]
# isoformat(), as the API wrote timestamps before it declared them ("+00:00", not pydantic's "Z").
Timestamp = Annotated[datetime, PlainSerializer(datetime.isoformat, when_used="json")]


class RunCreate(BaseModel):
    """A run of one bundled config over a named dataset or over tasks given inline.

    {"dataset": "arc-agi-1/training", "task_ids": ["007bbfb7"], "config": "tiny-cpu"}
    {"tasks": {"my-task": {"train": [...], "test": [...]}}, "config": "tiny-cpu",
     "overrides": {"max_epochs": 1}}
    """

    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(None, min_length=1, max_length=200)
    dataset: str | None = None
    task_ids: list[Annotated[str, Field(min_length=1, max_length=200)]] | None = Field(
        None, min_length=1, max_length=MAX_TASKS_PER_RUN)
    limit: int | None = Field(None, ge=1, le=MAX_TASKS_PER_RUN)
    tasks: dict[str, Any] | None = None
    config: str = Field(min_length=1)
    overrides: dict[str, Any] = Field(default_factory=dict)
    queue: str | None = Field(None, min_length=1, max_length=100, pattern=r"^[A-Za-z0-9_.@-]+$")
    priority: int = Field(0, ge=0, le=9)

    @model_validator(mode="after")
    def _one_source(self) -> "RunCreate":
        if (self.dataset is None) == (self.tasks is None):
            raise ValueError('give exactly one of "dataset" and "tasks"')
        if self.tasks is not None and (self.task_ids or self.limit):
            raise ValueError('"task_ids" and "limit" select from a "dataset", not from "tasks"')
        seen: set[str] = set()
        for task_id in self.task_ids or []:  # one pass: a long list must not cost n^2
            if task_id in seen:
                raise ValueError(f'"task_ids": task {task_id!r} is listed twice')
            seen.add(task_id)
        return self


class RunCreated(BaseModel):
    run_id: int
    jobs: int
    enqueued: bool  # False: the broker was unreachable; `arcfarm reconcile` will send the jobs


class Cancelled(BaseModel):
    run_id: int
    cancelled_jobs: int


class Health(BaseModel):
    status: str  # "ok" or "degraded"
    database: str  # "ok" or the error
    broker: str  # "ok", "embedded" or the error


class RunSummary(BaseModel):
    """A row of the run_summary view."""

    run_id: int
    name: str
    status: RunStatus
    n_tasks: int
    n_done: int
    n_failed: int
    n_solved: int
    score: float  # the sum of the tasks' scores (each the fraction of its test inputs solved)
    predictions: int
    worker_seconds: float  # the jobs' wall-clock seconds summed (a CPU worker's too)
    created_at: Timestamp
    finished_at: Timestamp | None
    base_training_id: int | None = None  # the training the run started from (lineage)


class JobCounts(BaseModel):
    """A run's jobs per status (every status present)."""

    queued: int
    running: int
    done: int
    failed: int
    cancelled: int


class RunProgress(RunSummary):
    """GET /runs/{id}: the summary, jobs per status, and when the run should end."""

    jobs: JobCounts
    eta_s: float | None  # None until a job is done


class TaskResultRow(BaseModel):
    """A row of the task_results view."""

    run_id: int
    task_id: str
    status: JobStatus
    epochs_run: int
    predictions: int
    first_solved_epoch: int | None
    passes_train: int  # predictions that pass every train pair
    score: float | None  # None while the job has no attempts or no solutions are known
    seconds: float | None


class EpochStats(BaseModel):
    """A row of the epoch_stats view."""

    run_id: int
    task_id: str
    epoch: int
    predictions: int
    valid_outputs: int
    unique_outputs: int
    relabeled: int
    train_loss: float | None
    best_train_correct_grids: int
    passes_train: int
    sample_s: float
    execute_s: float
    train_s: float


class PredictionLogRow(BaseModel):
    """A row of the prediction_log view."""

    run_id: int
    task_id: str
    epoch: int
    sample_index: int
    code: str
    error: str | None
    correct_train_grids: int
    passes_train: bool
    test_correct: bool | None
    output_fingerprint: str | None
    completion_tokens: int


class JobRow(BaseModel):
    """The jobs row of one task of a run."""

    id: int
    run_id: int
    task_pk: int
    status: JobStatus
    delivery_count: int
    failed_deliveries: int
    worker_host: str | None
    worker_name: str | None
    gpu: str | None
    queued_at: Timestamp
    started_at: Timestamp | None
    heartbeat_at: Timestamp | None
    finished_at: Timestamp | None
    epochs_done: int
    n_predictions: int
    n_passes_train: int
    first_correct_sample: int | None  # sample_index of the first test-correct prediction
    error_counts: dict[str, int] | None  # predictions per error ("none": they ran)
    resumed_from_epoch: int | None
    stop_reason: str | None
    error: str | None
    seconds: float | None
    expected_cost: float | None
    sandbox: str | None  # isolation level the job's programs ran under


class AttemptRow(BaseModel):
    test_index: int
    attempt_1: Grid | None
    attempt_2: Grid | None
    correct: bool | None  # None while no solutions are known


class TaskDetail(BaseModel):
    """GET /runs/{id}/tasks/{task_id}: its result, job, task JSON, epochs, attempts and best
    predictions (test-correct first, then train grids right, then earliest)."""

    result: TaskResultRow
    job: JobRow
    task_json: dict[str, Any]
    epochs: list[EpochStats]
    attempts: list[AttemptRow]
    predictions: list[PredictionLogRow]


class SubmissionEntry(BaseModel):
    """The two attempts for one test input ([[0]] where there is none)."""

    attempt_1: Grid
    attempt_2: Grid


# ARC Prize format: {task_id: [one entry per test input]}
Submission = dict[str, list[SubmissionEntry]]
