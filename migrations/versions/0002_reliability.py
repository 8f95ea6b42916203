"""Status queries that stay fast at scale: jobs.n_predictions, task_results reads it.

`task_results.predictions` counted a job's predictions row by row; on a run with a million of
them `GET /runs/{id}` took seconds. record_epoch now keeps `jobs.n_predictions` (backfilled
here), and the view reads it. Plus an index for the per-run job counts by status.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-26
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def _task_results(predictions: str) -> str:
    return f"""
CREATE VIEW task_results AS
SELECT j.run_id AS run_id,
       t.task_id AS task_id,
       j.status AS status,
       (SELECT COUNT(*) FROM epochs e WHERE e.job_id = j.id) AS epochs_run,
       {predictions} AS predictions,
       (SELECT MIN(p.epoch) FROM predictions p WHERE p.job_id = j.id AND p.test_correct) AS first_solved_epoch,
       (SELECT COUNT(*) FROM predictions p WHERE p.job_id = j.id AND p.passes_train) AS passes_train,
       (SELECT CAST(AVG(CASE WHEN a.correct THEN 1.0 WHEN NOT a.correct THEN 0.0 END) AS DOUBLE PRECISION)
          FROM attempts a WHERE a.job_id = j.id) AS score,
       j.seconds AS seconds
FROM jobs j JOIN tasks t ON t.id = j.task_pk
"""


COUNTED = "CAST(j.n_predictions AS BIGINT)"
COUNTING = "(SELECT COUNT(*) FROM predictions p WHERE p.job_id = j.id)"

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


def _replace_views(predictions: str) -> None:
    op.execute("DROP VIEW run_summary")
    op.execute("DROP VIEW task_results")
    op.execute(_task_results(predictions))
    op.execute(RUN_SUMMARY)


def upgrade() -> None:
    op.add_column("jobs", sa.Column("n_predictions", sa.Integer, nullable=False, server_default="0"))
    op.execute("UPDATE jobs SET n_predictions = "
               "(SELECT COUNT(*) FROM predictions p WHERE p.job_id = jobs.id)")
    op.create_index("ix_jobs_run_status", "jobs", ["run_id", "status"])
    _replace_views(COUNTED)


# SQLite rebuilds a table to drop a column, which fails while views name it: the views that
# read jobs go first and come back afterwards (as 0001 wrote them).
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


def downgrade() -> None:
    for name in ("run_summary", "task_results", "epoch_stats", "prediction_log"):
        op.execute(f"DROP VIEW {name}")
    op.drop_index("ix_jobs_run_status", "jobs")
    with op.batch_alter_table("jobs") as batch:
        batch.drop_column("n_predictions")
    op.execute(_task_results(COUNTING))
    op.execute(RUN_SUMMARY)
    op.execute(EPOCH_STATS)
    op.execute(PREDICTION_LOG)
