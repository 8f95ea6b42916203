"""jobs.attempts_failed -> jobs.failed_deliveries; runs.error dropped.

`jobs.failed_deliveries` counts the deliveries of a job that ended in a failure (an exception,
or a worker that died); the old name suggested the `attempts` table, which it has nothing to
do with. `runs.error` was never written: a run does not fail as a whole (it ends done once
every job is done, failed or cancelled; each job's error is on its row), so the column goes.

Both PostgreSQL and SQLite (3.35 and later) rename and drop a column in place; no view reads
either column. The downgrade renames back and adds `runs.error` again, empty.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-02
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.alter_column("jobs", "attempts_failed", new_column_name="failed_deliveries")
    op.drop_column("runs", "error")


def downgrade() -> None:
    op.add_column("runs", sa.Column("error", sa.Text))
    op.alter_column("jobs", "failed_deliveries", new_column_name="attempts_failed")
