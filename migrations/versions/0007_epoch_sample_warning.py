"""epochs.sample_warning: what the sampling engine worked around in that epoch, e.g. decode-step
shapes whose torch.compile failed (the recompile limit, no compiler) and ran eagerly.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("epochs", sa.Column("sample_warning", sa.Text(), nullable=True))


def downgrade() -> None:
    # Plain ALTER (PostgreSQL, SQLite >= 3.35): no view reads the column, so nothing is rebuilt.
    op.execute("ALTER TABLE epochs DROP COLUMN sample_warning")
