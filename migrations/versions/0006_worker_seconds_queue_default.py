"""Names that say what they hold: run_summary.gpu_seconds becomes worker_seconds (it is the sum
of the jobs' wall-clock seconds, on CPU workers too), and runs.queue defaults to "arcfarm", the
queue workers consume, instead of "default", which none does.

On PostgreSQL the column is renamed in place (ALTER VIEW ... RENAME COLUMN), so a reader role's
SELECT grant on the view survives; SQLite has no grants and no ALTER VIEW, so the view is made
again from its text with the new name. The server default of runs.queue changes on PostgreSQL
only (see _queue_default).

Revision ID: 0006
Revises: 0004
Create Date: 2026-12-02
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0004"
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


def upgrade() -> None:
    _rename_view_column("gpu_seconds", "worker_seconds")
    _queue_default("arcfarm")


def downgrade() -> None:
    _queue_default("default")
    _rename_view_column("worker_seconds", "gpu_seconds")
