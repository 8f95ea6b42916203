"""Initial schema: runs, tasks, solutions, jobs, epochs, predictions, adapters, attempts + views.

Written by hand and portable: it runs on PostgreSQL (JSONB) and SQLite (JSON as text), and the
researcher-facing views use only SQL both understand (CASE instead of FILTER, CAST to
DOUBLE PRECISION / BIGINT so PostgreSQL does not hand back numerics).

Revision ID: 0001
Revises:
Create Date: 2025-01-01
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

JSON = sa.JSON(none_as_null=True).with_variant(JSONB(none_as_null=True), "postgresql")
BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
TS = sa.DateTime(timezone=True)


def _job_fk() -> sa.Column:
    return sa.Column("job_id", sa.Integer, sa.ForeignKey("jobs.id", ondelete="CASCADE"), nullable=False)


def _create_runs_and_tasks() -> None:
    op.create_table(
        "runs",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("config", JSON, nullable=False),
        sa.Column("model", sa.String(500), nullable=False),
        sa.Column("code_version", sa.String(100), nullable=False),
        sa.Column("status", sa.String(20), nullable=False, server_default="queued"),
        sa.Column("dataset", sa.String(200), nullable=False),
        sa.Column("queue", sa.String(100), nullable=False, server_default="default"),
        sa.Column("priority", sa.Integer, nullable=False, server_default="0"),
        sa.Column("created_at", TS, nullable=False, server_default=sa.func.current_timestamp()),
        sa.Column("started_at", TS),
        sa.Column("finished_at", TS),
        sa.Column("error", sa.Text),
    )
    op.create_index("ix_runs_status", "runs", ["status"])
    op.create_table(
        "tasks",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("dataset", sa.String(200), nullable=False),
        sa.Column("task_id", sa.String(200), nullable=False),
        sa.Column("content_hash", sa.String(64), nullable=False),
        sa.Column("task_json", JSON, nullable=False),
        sa.UniqueConstraint("dataset", "task_id", "content_hash", name="uq_tasks_identity"),
    )
    op.create_index("ix_tasks_task_id", "tasks", ["task_id"])
    op.create_table(
        "solutions",
        sa.Column("task_pk", sa.Integer, sa.ForeignKey("tasks.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("test_outputs", JSON, nullable=False),
    )


def _create_jobs() -> None:
    op.create_table(
        "jobs",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("run_id", sa.Integer, sa.ForeignKey("runs.id", ondelete="CASCADE"), nullable=False),
        sa.Column("task_pk", sa.Integer, sa.ForeignKey("tasks.id"), nullable=False),
        sa.Column("status", sa.String(20), nullable=False, server_default="queued"),
        sa.Column("delivery_count", sa.Integer, nullable=False, server_default="0"),
        sa.Column("attempts_failed", sa.Integer, nullable=False, server_default="0"),
        sa.Column("worker_host", sa.String(200)),
        sa.Column("worker_name", sa.String(200)),
        sa.Column("gpu", sa.String(200)),
        sa.Column("queued_at", TS, nullable=False, server_default=sa.func.current_timestamp()),
        sa.Column("started_at", TS),
        sa.Column("heartbeat_at", TS),
        sa.Column("finished_at", TS),
        sa.Column("epochs_done", sa.Integer, nullable=False, server_default="-1"),
        sa.Column("resumed_from_epoch", sa.Integer),
        sa.Column("stop_reason", sa.String(100)),
        sa.Column("error", sa.Text),
        sa.Column("seconds", sa.Double),
        sa.Column("expected_cost", sa.Double),
        sa.UniqueConstraint("run_id", "task_pk", name="uq_jobs_run_task"),
    )
    op.create_index("ix_jobs_run_id", "jobs", ["run_id"])
    op.create_index("ix_jobs_task_pk", "jobs", ["task_pk"])
    op.create_index("ix_jobs_status_heartbeat", "jobs", ["status", "heartbeat_at"])


def _create_epochs() -> None:
    op.create_table(
        "epochs",
        sa.Column("id", sa.Integer, primary_key=True),
        _job_fk(),
        sa.Column("epoch", sa.Integer, nullable=False),
        *[sa.Column(name, sa.Integer, nullable=False) for name in
          ("predictions", "valid", "unique_outputs", "relabeled")],
        sa.Column("train_loss", sa.Double),
        sa.Column("train_error", sa.Text),
        sa.Column("best_train_correct", sa.Integer, nullable=False),
        sa.Column("passes_train", sa.Integer, nullable=False),
        *[sa.Column(name, sa.Double, nullable=False) for name in
          ("sample_s", "execute_s", "relabel_s", "train_s", "reset_s")],
        sa.Column("train_tokens", sa.Integer, nullable=False, server_default="0"),
        sa.Column("created_at", TS, nullable=False, server_default=sa.func.current_timestamp()),
        sa.UniqueConstraint("job_id", "epoch", name="uq_epochs_job_epoch"),
    )


def _create_predictions() -> None:
    op.create_table(
        "predictions",
        sa.Column("id", BIG_ID, primary_key=True, autoincrement=True),
        _job_fk(),
        sa.Column("epoch", sa.Integer, nullable=False),
        sa.Column("sample_index", sa.Integer, nullable=False),
        sa.Column("augmentation", JSON, nullable=False),
        sa.Column("prompt_tokens", sa.Integer, nullable=False),
        sa.Column("completion_tokens", sa.Integer, nullable=False),
        sa.Column("response", sa.Text, nullable=False),
        sa.Column("code", sa.Text, nullable=False),
        sa.Column("code_hash", sa.String(64), nullable=False),
        sa.Column("train_outputs", JSON, nullable=False),
        sa.Column("test_outputs", JSON, nullable=False),
        sa.Column("grid_errors", JSON, nullable=False),
        sa.Column("error", sa.String(100)),
        sa.Column("error_message", sa.Text),
        sa.Column("train_correct", sa.Integer, nullable=False),
        sa.Column("train_total", sa.Integer, nullable=False),
        sa.Column("pixel_score", sa.Double, nullable=False),
        sa.Column("passes_train", sa.Boolean, nullable=False),
        sa.Column("output_fingerprint", sa.String(64)),
        sa.Column("test_correct", sa.Boolean),
        sa.Column("seconds", sa.Double, nullable=False, server_default="0"),
        sa.UniqueConstraint("job_id", "sample_index", name="uq_predictions_job_sample"),
    )
    op.create_index("ix_predictions_job_epoch", "predictions", ["job_id", "epoch"])


def _create_adapters_and_attempts() -> None:
    op.create_table(
        "adapters",
        sa.Column("id", sa.Integer, primary_key=True),
        _job_fk(),
        sa.Column("epoch", sa.Integer, nullable=False),
        sa.Column("uri", sa.Text, nullable=False),
        sa.Column("sha256", sa.String(64)),
        sa.Column("bytes", sa.BigInteger),
        sa.Column("lora_config", JSON),
        sa.Column("created_at", TS, nullable=False, server_default=sa.func.current_timestamp()),
        sa.UniqueConstraint("job_id", "epoch", name="uq_adapters_job_epoch"),
    )
    op.create_table(
        "attempts",
        sa.Column("id", sa.Integer, primary_key=True),
        _job_fk(),
        sa.Column("test_index", sa.Integer, nullable=False),
        sa.Column("attempt_1", JSON),
        sa.Column("attempt_2", JSON),
        sa.Column("correct", sa.Boolean),
        sa.UniqueConstraint("job_id", "test_index", name="uq_attempts_job_test"),
    )


# A task's score is the fraction of its test inputs with a correct attempt (NULL: unknown).
TASK_RESULTS = """
CREATE VIEW task_results AS
SELECT j.run_id AS run_id,
       t.task_id AS task_id,
       j.status AS status,
       (SELECT COUNT(*) FROM epochs e WHERE e.job_id = j.id) AS epochs_run,
       (SELECT COUNT(*) FROM predictions p WHERE p.job_id = j.id) AS predictions,
       (SELECT MIN(p.epoch) FROM predictions p WHERE p.job_id = j.id AND p.test_correct) AS first_solved_epoch,
       (SELECT COUNT(*) FROM predictions p WHERE p.job_id = j.id AND p.passes_train) AS passes_train,
       (SELECT CAST(AVG(CASE WHEN a.correct THEN 1.0 WHEN NOT a.correct THEN 0.0 END) AS DOUBLE PRECISION)
          FROM attempts a WHERE a.job_id = j.id) AS score,
       j.seconds AS seconds
FROM jobs j JOIN tasks t ON t.id = j.task_pk
"""

RUN_SUMMARY = """
CREATE VIEW run_summary AS
SELECT r.id AS run_id,
       r.name AS name,
       r.status AS status,
       COUNT(tr.run_id) AS n_tasks,
       COALESCE(SUM(CASE WHEN tr.status = 'done' THEN 1 ELSE 0 END), 0) AS n_done,
       COALESCE(SUM(CASE WHEN tr.status = 'failed' THEN 1 ELSE 0 END), 0) AS n_failed,
       COALESCE(SUM(CASE WHEN tr.score = 1 THEN 1 ELSE 0 END), 0) AS n_solved,
       CAST(COALESCE(SUM(tr.score), 0) AS DOUBLE PRECISION) AS score,
       CAST(COALESCE(SUM(tr.predictions), 0) AS BIGINT) AS predictions,
       CAST(COALESCE(SUM(tr.seconds), 0) AS DOUBLE PRECISION) AS gpu_seconds,
       r.created_at AS created_at,
       r.finished_at AS finished_at
FROM runs r LEFT JOIN task_results tr ON tr.run_id = r.id
GROUP BY r.id, r.name, r.status, r.created_at, r.finished_at
"""

EPOCH_STATS = """
CREATE VIEW epoch_stats AS
SELECT j.run_id AS run_id, t.task_id AS task_id, e.epoch AS epoch,
       e.predictions AS predictions, e.valid AS valid_outputs, e.unique_outputs AS unique_outputs,
       e.relabeled AS relabeled, e.train_loss AS train_loss,
       e.best_train_correct AS best_train_correct_grids, e.passes_train AS passes_train,
       e.sample_s AS sample_s, e.execute_s AS execute_s, e.train_s AS train_s
FROM epochs e JOIN jobs j ON j.id = e.job_id JOIN tasks t ON t.id = j.task_pk
"""

PREDICTION_LOG = """
CREATE VIEW prediction_log AS
SELECT j.run_id AS run_id, t.task_id AS task_id, p.epoch AS epoch, p.sample_index AS sample_index,
       p.code AS code, p.error AS error, p.train_correct AS correct_train_grids,
       p.passes_train AS passes_train, p.test_correct AS test_correct,
       p.output_fingerprint AS output_fingerprint, p.completion_tokens AS completion_tokens
FROM predictions p JOIN jobs j ON j.id = p.job_id JOIN tasks t ON t.id = j.task_pk
"""

VIEWS = (("task_results", TASK_RESULTS), ("run_summary", RUN_SUMMARY),
         ("epoch_stats", EPOCH_STATS), ("prediction_log", PREDICTION_LOG))


def upgrade() -> None:
    _create_runs_and_tasks()
    _create_jobs()
    _create_epochs()
    _create_predictions()
    _create_adapters_and_attempts()
    for _name, sql in VIEWS:
        op.execute(sql)


def downgrade() -> None:
    for name, _sql in reversed(VIEWS):
        op.execute(f"DROP VIEW IF EXISTS {name}")
    for table in ("attempts", "adapters", "predictions", "epochs", "jobs", "solutions", "tasks", "runs"):
        op.drop_table(table)
