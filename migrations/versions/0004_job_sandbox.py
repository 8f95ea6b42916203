"""jobs.sandbox: the isolation the job's programs ran under (e.g. "strict: namespaces, user,
landlock, seccomp"), written by the job runner when it starts solving.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-02
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("jobs", sa.Column("sandbox", sa.String(200), nullable=True))


def downgrade() -> None:
    # Plain ALTER (PostgreSQL, SQLite >= 3.35): no view reads the column, so nothing is rebuilt.
    op.execute("ALTER TABLE jobs DROP COLUMN sandbox")
