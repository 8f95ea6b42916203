"""Names that say what they hold, and per-job counters that keep the dashboard fast.

- run_summary.gpu_seconds becomes worker_seconds (it is the sum of the jobs' wall-clock
  seconds, on CPU workers too);
- runs.queue defaults to "arcfarm", the queue workers consume, instead of "default";
- jobs.n_passes_train, jobs.first_correct_sample and jobs.error_counts ({error or "none": n}),
  kept by record_epoch (backfilled here) like jobs.n_predictions: task_results.passes_train
  counted a job's predictions row by row, and the dashboard's run page needs the error mix and
  each task's first right sample; on a run of 500,000 predictions those scans took seconds.

On PostgreSQL the column is renamed in place (ALTER VIEW ... RENAME COLUMN), so a reader role's
SELECT grant on the view survives; SQLite has no grants and no ALTER VIEW, so the view is made
again from its text with the new name. The server default of runs.queue changes on PostgreSQL
only (see _queue_default). task_results is replaced in place on PostgreSQL (CREATE OR REPLACE:
same columns, grants kept) and made again on SQLite.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

JSON_TYPE = sa.JSON(none_as_null=True).with_variant(JSONB(none_as_null=True), "postgresql")

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def _rename_view_column(old: str, new: str) -> None:
    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        op.execute(f"ALTER VIEW run_summary RENAME COLUMN {old} TO {new}")
        return
    sql = bind.execute(sa.text("SELECT sql FROM sqlite_master WHERE type = 'view' "
                               "AND name = 'run_summary'")).scalar_one()
    assert sql.count(f" AS {old},") == 1, "run_summary is not the view this migration expects"
    op.execute("DROP VIEW run_summary")
    op.execute(sql.replace(f" AS {old},", f" AS {new},"))


def _queue_default(value: str) -> None:
    # PostgreSQL only. SQLite cannot change a default in place, and rebuilding `runs` with
    # foreign keys on would cascade-delete its jobs; every insert into the embedded database goes
    # through the ORM, whose default (arcfarm.db.status.DEFAULT_QUEUE) is the one that applies.
    if op.get_bind().dialect.name == "postgresql":
        op.alter_column("runs", "queue", server_default=value)


def _task_results(passes_train: str) -> str:
    return f"""
VIEW task_results AS
SELECT j.run_id AS run_id,
       t.task_id AS task_id,
       j.status AS status,
       (SELECT COUNT(*) FROM epochs e WHERE e.job_id = j.id) AS epochs_run,
       CAST(j.n_predictions AS BIGINT) AS predictions,
       (SELECT MIN(p.epoch) FROM predictions p WHERE p.job_id = j.id AND p.test_correct) AS first_solved_epoch,
       {passes_train} AS passes_train,
       (SELECT CAST(AVG(CASE WHEN a.correct THEN 1.0 WHEN NOT a.correct THEN 0.0 END) AS DOUBLE PRECISION)
          FROM attempts a WHERE a.job_id = j.id) AS score,
       j.seconds AS seconds
FROM jobs j JOIN tasks t ON t.id = j.task_pk
"""


COUNTED = "CAST(j.n_passes_train AS BIGINT)"
COUNTING = "(SELECT COUNT(*) FROM predictions p WHERE p.job_id = j.id AND p.passes_train)"


def _replace_task_results(passes_train: str) -> None:
    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        op.execute("CREATE OR REPLACE " + _task_results(passes_train))
        return
    run_summary = bind.execute(sa.text("SELECT sql FROM sqlite_master WHERE type = 'view' "
                                       "AND name = 'run_summary'")).scalar_one()
    op.execute("DROP VIEW run_summary")
    op.execute("DROP VIEW task_results")
    op.execute("CREATE " + _task_results(passes_train))
    op.execute(run_summary)


def _backfill_counters() -> None:
    agg = ("jsonb_object_agg" if op.get_bind().dialect.name == "postgresql" else "json_group_object")
    op.execute("UPDATE jobs SET "
               "n_passes_train = (SELECT COUNT(*) FROM predictions p WHERE p.job_id = jobs.id "
               "AND p.passes_train), "
               "first_correct_sample = (SELECT MIN(p.sample_index) FROM predictions p "
               "WHERE p.job_id = jobs.id AND p.test_correct), "
               f"error_counts = (SELECT {agg}(e, n) FROM (SELECT COALESCE(p.error, 'none') AS e, "
               "COUNT(*) AS n FROM predictions p WHERE p.job_id = jobs.id "
               "GROUP BY COALESCE(p.error, 'none')) AS c) "
               "WHERE EXISTS (SELECT 1 FROM predictions p WHERE p.job_id = jobs.id)")


def upgrade() -> None:
    _rename_view_column("gpu_seconds", "worker_seconds")
    _queue_default("arcfarm")
    op.add_column("jobs", sa.Column("n_passes_train", sa.Integer, nullable=False, server_default="0"))
    op.add_column("jobs", sa.Column("first_correct_sample", sa.Integer, nullable=True))
    op.add_column("jobs", sa.Column("error_counts", JSON_TYPE, nullable=True))
    _backfill_counters()
    _replace_task_results(COUNTED)


def downgrade() -> None:
    _replace_task_results(COUNTING)
    # Plain ALTER (PostgreSQL, SQLite >= 3.35): no view reads these columns any more.
    for column in ("error_counts", "first_correct_sample", "n_passes_train"):
        op.execute(f"ALTER TABLE jobs DROP COLUMN {column}")
    _queue_default("default")
    _rename_view_column("worker_seconds", "gpu_seconds")
