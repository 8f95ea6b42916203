"""Names that say what they hold: jobs.attempts_failed -> jobs.failed_deliveries.

The column counts the deliveries of a job that ended in a failure (an exception, or a worker
that died); it has nothing to do with the `attempts` table. Both PostgreSQL and SQLite (3.25
and later) rename a column in place, and no view reads this one.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-02
"""
from __future__ import annotations

from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.alter_column("jobs", "attempts_failed", new_column_name="failed_deliveries")


def downgrade() -> None:
    op.alter_column("jobs", "failed_deliveries", new_column_name="attempts_failed")
