"""SQLAlchemy 2 models of the farm's tables (the schema itself is created by migrations/).

One run has one job per task; a job owns its epochs, predictions, adapters and attempts.
Tasks are shared between runs (deduplicated by dataset, ARC id and content hash, without their
test outputs); the test outputs live in `solutions`, one row per run that supplied them, a
separate table so a reader role can be denied it.
Timestamps are UTC and written by Python (`utcnow`) so SQLite and PostgreSQL agree.
"""
from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from arcfarm.db.status import DEFAULT_QUEUE, JobStatus, RunStatus

# JSON everywhere, JSONB on PostgreSQL; Python None is stored as SQL NULL.
JSONType = sa.JSON(none_as_null=True).with_variant(JSONB(none_as_null=True), "postgresql")
# BIGINT ids where rows are many; SQLite only autoincrements a plain INTEGER primary key.
BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
UTCDateTime = sa.DateTime(timezone=True)


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


class Base(DeclarativeBase):
    type_annotation_map = {dict[str, Any]: JSONType, list[Any]: JSONType, datetime: UTCDateTime,
                           float: sa.Double()}


class Run(Base):
    __tablename__ = "runs"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(200))
    config: Mapped[dict[str, Any]]
    model: Mapped[str] = mapped_column(sa.String(500))
    code_version: Mapped[str] = mapped_column(sa.String(100))
    status: Mapped[str] = mapped_column(sa.String(20), default=RunStatus.QUEUED, index=True)
    dataset: Mapped[str] = mapped_column(sa.String(200))
    queue: Mapped[str] = mapped_column(sa.String(100), default=DEFAULT_QUEUE)
    priority: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]
    base_training_id: Mapped[int | None]  # the training its base_adapter came from (0009)


class TaskRow(Base):
    """A row of `tasks` (arcfarm.arc.tasks.Task is the task itself)."""

    __tablename__ = "tasks"
    __table_args__ = (sa.UniqueConstraint("dataset", "task_id", "content_hash", name="uq_tasks_identity"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    dataset: Mapped[str] = mapped_column(sa.String(200))
    task_id: Mapped[str] = mapped_column(sa.String(200), index=True)
    content_hash: Mapped[str] = mapped_column(sa.String(64))
    task_json: Mapped[dict[str, Any]]


class Solution(Base):
    """The test outputs one run supplied for one task (0005): a run is scored only against its own.
    run_id is NULL only for rows kept from before 0005 whose task no run used."""

    __tablename__ = "solutions"
    __table_args__ = (sa.UniqueConstraint("run_id", "task_pk", name="uq_solutions_run_task"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    run_id: Mapped[int | None] = mapped_column(sa.ForeignKey("runs.id", ondelete="CASCADE"))
    task_pk: Mapped[int] = mapped_column(sa.ForeignKey("tasks.id", ondelete="CASCADE"), index=True)
    test_outputs: Mapped[list[Any]]


class Job(Base):
    __tablename__ = "jobs"
    __table_args__ = (sa.UniqueConstraint("run_id", "task_pk", name="uq_jobs_run_task"),
                      sa.Index("ix_jobs_status_heartbeat", "status", "heartbeat_at"),
                      sa.Index("ix_jobs_run_status", "run_id", "status"))

    id: Mapped[int] = mapped_column(primary_key=True)
    run_id: Mapped[int] = mapped_column(sa.ForeignKey("runs.id", ondelete="CASCADE"), index=True)
    task_pk: Mapped[int] = mapped_column(sa.ForeignKey("tasks.id"), index=True)
    status: Mapped[str] = mapped_column(sa.String(20), default=JobStatus.QUEUED)
    delivery_count: Mapped[int] = mapped_column(default=0)
    failed_deliveries: Mapped[int] = mapped_column(default=0)  # deliveries that ended in a failure
    worker_host: Mapped[str | None] = mapped_column(sa.String(200))
    worker_name: Mapped[str | None] = mapped_column(sa.String(200))
    gpu: Mapped[str | None] = mapped_column(sa.String(200))
    queued_at: Mapped[datetime] = mapped_column(default=utcnow)
    started_at: Mapped[datetime | None]
    heartbeat_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]
    epochs_done: Mapped[int] = mapped_column(default=-1)
    n_predictions: Mapped[int] = mapped_column(default=0)  # kept by record_epoch (0002)
    # kept by record_epoch too (0006), so status pages never scan a run's predictions
    n_passes_train: Mapped[int] = mapped_column(default=0)
    first_correct_sample: Mapped[int | None]  # the first test-correct prediction's sample_index
    error_counts: Mapped[dict[str, Any] | None]  # {error or "none": predictions}
    resumed_from_epoch: Mapped[int | None]
    stop_reason: Mapped[str | None] = mapped_column(sa.String(100))
    error: Mapped[str | None] = mapped_column(sa.Text)
    seconds: Mapped[float | None]
    expected_cost: Mapped[float | None]
    sandbox: Mapped[str | None] = mapped_column(sa.String(200))  # isolation in force (0004)


class Epoch(Base):
    __tablename__ = "epochs"
    __table_args__ = (sa.UniqueConstraint("job_id", "epoch", name="uq_epochs_job_epoch"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    job_id: Mapped[int] = mapped_column(sa.ForeignKey("jobs.id", ondelete="CASCADE"))
    epoch: Mapped[int]
    predictions: Mapped[int]
    valid: Mapped[int]
    unique_outputs: Mapped[int]
    relabeled: Mapped[int]
    train_loss: Mapped[float | None]
    train_error: Mapped[str | None] = mapped_column(sa.Text)
    best_train_correct: Mapped[int]
    passes_train: Mapped[int]
    sample_s: Mapped[float]
    execute_s: Mapped[float]
    relabel_s: Mapped[float]
    train_s: Mapped[float]
    reset_s: Mapped[float]
    train_tokens: Mapped[int] = mapped_column(default=0)
    sample_warning: Mapped[str | None] = mapped_column(sa.Text)  # e.g. a compile fallback
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Prediction(Base):
    __tablename__ = "predictions"
    __table_args__ = (sa.UniqueConstraint("job_id", "sample_index", name="uq_predictions_job_sample"),
                      sa.Index("ix_predictions_job_epoch", "job_id", "epoch"))

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    job_id: Mapped[int] = mapped_column(sa.ForeignKey("jobs.id", ondelete="CASCADE"))
    epoch: Mapped[int]
    sample_index: Mapped[int]
    augmentation: Mapped[dict[str, Any]]
    prompt_tokens: Mapped[int]
    completion_tokens: Mapped[int]
    response: Mapped[str] = mapped_column(sa.Text)
    code: Mapped[str] = mapped_column(sa.Text)
    code_hash: Mapped[str] = mapped_column(sa.String(64))
    train_outputs: Mapped[list[Any]]
    test_outputs: Mapped[list[Any]]
    grid_errors: Mapped[list[Any]]
    error: Mapped[str | None] = mapped_column(sa.String(100))
    error_message: Mapped[str | None] = mapped_column(sa.Text)
    train_correct: Mapped[int]
    train_total: Mapped[int]
    pixel_score: Mapped[float]
    passes_train: Mapped[bool]
    output_fingerprint: Mapped[str | None] = mapped_column(sa.String(64))
    test_correct: Mapped[bool | None]  # None while no solutions are known
    seconds: Mapped[float] = mapped_column(default=0.0)


class Adapter(Base):
    __tablename__ = "adapters"
    __table_args__ = (sa.UniqueConstraint("job_id", "epoch", name="uq_adapters_job_epoch"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    job_id: Mapped[int] = mapped_column(sa.ForeignKey("jobs.id", ondelete="CASCADE"))
    epoch: Mapped[int]
    uri: Mapped[str] = mapped_column(sa.Text)
    sha256: Mapped[str | None] = mapped_column(sa.String(64))
    bytes: Mapped[int | None] = mapped_column(sa.BigInteger)
    lora_config: Mapped[dict[str, Any] | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Attempt(Base):
    __tablename__ = "attempts"
    __table_args__ = (sa.UniqueConstraint("job_id", "test_index", name="uq_attempts_job_test"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    job_id: Mapped[int] = mapped_column(sa.ForeignKey("jobs.id", ondelete="CASCADE"))
    test_index: Mapped[int]
    attempt_1: Mapped[list[Any] | None]
    attempt_2: Mapped[list[Any] | None]
    correct: Mapped[bool | None]  # None while no solutions are known


class Training(Base):
    """What `arcfarm learn` trained from the history of runs (0009)."""

    __tablename__ = "trainings"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(200))
    status: Mapped[str] = mapped_column(sa.String(20), default=JobStatus.QUEUED, index=True)
    source_runs: Mapped[list[Any]]
    policy: Mapped[str] = mapped_column(sa.String(50))
    config: Mapped[dict[str, Any]]
    model: Mapped[str] = mapped_column(sa.String(500))
    queue: Mapped[str] = mapped_column(sa.String(100), default="train")
    code_version: Mapped[str] = mapped_column(sa.String(100))
    delivery_count: Mapped[int] = mapped_column(default=0)
    worker_name: Mapped[str | None] = mapped_column(sa.String(200))
    n_examples: Mapped[int | None]
    n_tokens: Mapped[int | None] = mapped_column(sa.BigInteger)
    steps: Mapped[int | None]
    final_loss: Mapped[float | None]
    loss_curve: Mapped[list[Any] | None]
    adapter_uri: Mapped[str | None] = mapped_column(sa.Text)
    adapter_sha256: Mapped[str | None] = mapped_column(sa.String(64))
    adapter_bytes: Mapped[int | None] = mapped_column(sa.BigInteger)
    error: Mapped[str | None] = mapped_column(sa.Text)
    seconds: Mapped[float | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]
