"""trainings: what `arcfarm learn` trained from the farm's history; runs.base_training_id: lineage.

A training row is written queued by `arcfarm learn` (source runs, selection policy, config),
taken by a worker of the `train` queue (running), and ends done (examples, tokens, steps, loss
curve, adapter URI + sha256 + bytes) or failed (error). A run whose config starts from a
training (`base_adapter: training:<id>`) records it in runs.base_training_id, and run_summary
shows it as its last column, so a run's lineage is one join away. No foreign key on the new
runs column: SQLite cannot add one in place, and the id is checked when the run is created.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

JSON = sa.JSON(none_as_null=True).with_variant(JSONB(none_as_null=True), "postgresql")
TS = sa.DateTime(timezone=True)

_RUN_SUMMARY = """
CREATE {replace}VIEW run_summary AS
SELECT r.id AS run_id,
       r.name AS name,
       r.status AS status,
       COUNT(tr.run_id) AS n_tasks,
       COALESCE(SUM(CASE WHEN tr.status = 'done' THEN 1 ELSE 0 END), 0) AS n_done,
       COALESCE(SUM(CASE WHEN tr.status = 'failed' THEN 1 ELSE 0 END), 0) AS n_failed,
       COALESCE(SUM(CASE WHEN tr.score = 1 THEN 1 ELSE 0 END), 0) AS n_solved,
       CAST(COALESCE(SUM(tr.score), 0) AS DOUBLE PRECISION) AS score,
       CAST(COALESCE(SUM(tr.predictions), 0) AS BIGINT) AS predictions,
       CAST(COALESCE(SUM(tr.seconds), 0) AS DOUBLE PRECISION) AS worker_seconds,
       r.created_at AS created_at,
       r.finished_at AS finished_at{lineage}
FROM runs r LEFT JOIN task_results tr ON tr.run_id = r.id
GROUP BY r.id, r.name, r.status, r.created_at, r.finished_at{group}
"""


def upgrade() -> None:
    op.create_table(
        "trainings",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("status", sa.String(20), nullable=False, server_default="queued"),
        sa.Column("source_runs", JSON, nullable=False),
        sa.Column("policy", sa.String(50), nullable=False),
        sa.Column("config", JSON, nullable=False),
        sa.Column("model", sa.String(500), nullable=False),
        sa.Column("queue", sa.String(100), nullable=False, server_default="train"),
        sa.Column("code_version", sa.String(100), nullable=False),
        sa.Column("delivery_count", sa.Integer, nullable=False, server_default="0"),
        sa.Column("worker_name", sa.String(200)),
        sa.Column("n_examples", sa.Integer),
        sa.Column("n_tokens", sa.BigInteger),
        sa.Column("steps", sa.Integer),
        sa.Column("final_loss", sa.Double),
        sa.Column("loss_curve", JSON),
        sa.Column("adapter_uri", sa.Text),
        sa.Column("adapter_sha256", sa.String(64)),
        sa.Column("adapter_bytes", sa.BigInteger),
        sa.Column("error", sa.Text),
        sa.Column("seconds", sa.Double),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("started_at", TS),
        sa.Column("finished_at", TS),
    )
    op.create_index("ix_trainings_status", "trainings", ["status"])
    op.add_column("runs", sa.Column("base_training_id", sa.Integer, nullable=True))
    # PostgreSQL: CREATE OR REPLACE appends the column and keeps the reader role's SELECT grant;
    # SQLite has neither grants nor OR REPLACE for views.
    postgres = op.get_bind().dialect.name == "postgresql"
    if not postgres:
        op.execute("DROP VIEW run_summary")
    op.execute(_RUN_SUMMARY.format(replace="OR REPLACE " if postgres else "",
                                   lineage=",\n       r.base_training_id AS base_training_id",
                                   group=", r.base_training_id"))


def downgrade() -> None:
    op.execute("DROP VIEW run_summary")
    op.execute(_RUN_SUMMARY.format(replace="", lineage="", group=""))  # (a reader role needs its grant again)
    # Plain ALTER (PostgreSQL, SQLite >= 3.35): no view reads the column any more.
    op.execute("ALTER TABLE runs DROP COLUMN base_training_id")
    op.drop_index("ix_trainings_status", "trainings")
    op.drop_table("trainings")
