"""solutions belong to the run that supplied them: one row per (run, task), not per task.

Before, tasks were shared between runs (keyed without their test outputs) and their solutions
inserted with ON CONFLICT DO NOTHING: a second submitter's test outputs were dropped and their
run scored against the first submitter's, and a run that gave no outputs was scored against
someone else's. Now `solutions` has a row per run that supplied outputs (inline, or from the named
dataset it loaded), and a run is scored only against its own row; without one its scores are NULL.

Upgrade: every old row is copied to each run that has a job on its task (so existing runs keep
the outputs they were scored against); a row whose task no run uses is kept with run_id NULL,
which nothing scores against. Downgrade: one row per task again, the first one stored (the old
row's copy where there was one, else the first submitter's, as before); per-run outputs that
differ from it cannot be kept in the old shape.

The table is rebuilt (create, copy, drop, rename) on both PostgreSQL and SQLite: its primary key
changes, and no view reads it.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

JSON = sa.JSON(none_as_null=True).with_variant(JSONB(none_as_null=True), "postgresql")


def _swap_in(new: str) -> None:
    """Replace `solutions` with the table `new`, keeping PostgreSQL's default object names."""
    op.drop_table("solutions")
    op.rename_table(new, "solutions")
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"ALTER TABLE solutions RENAME CONSTRAINT {new}_pkey TO solutions_pkey")
        if new == "solutions_new":
            op.execute("ALTER SEQUENCE solutions_new_id_seq RENAME TO solutions_id_seq")


def upgrade() -> None:
    op.create_table(
        "solutions_new",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("run_id", sa.Integer, sa.ForeignKey("runs.id", ondelete="CASCADE"), nullable=True),
        sa.Column("task_pk", sa.Integer, sa.ForeignKey("tasks.id", ondelete="CASCADE"), nullable=False),
        sa.Column("test_outputs", JSON, nullable=False),
        sa.UniqueConstraint("run_id", "task_pk", name="uq_solutions_run_task"),
    )
    op.execute("""
        INSERT INTO solutions_new (run_id, task_pk, test_outputs)
        SELECT j.run_id, s.task_pk, s.test_outputs
        FROM solutions s JOIN jobs j ON j.task_pk = s.task_pk
        ORDER BY j.run_id, s.task_pk
    """)
    op.execute("""
        INSERT INTO solutions_new (run_id, task_pk, test_outputs)
        SELECT NULL, s.task_pk, s.test_outputs FROM solutions s
        WHERE NOT EXISTS (SELECT 1 FROM jobs j WHERE j.task_pk = s.task_pk)
        ORDER BY s.task_pk
    """)
    _swap_in("solutions_new")
    op.create_index("ix_solutions_task_pk", "solutions", ["task_pk"])


def downgrade() -> None:
    op.drop_index("ix_solutions_task_pk", table_name="solutions")
    op.create_table(
        "solutions_old",
        sa.Column("task_pk", sa.Integer, sa.ForeignKey("tasks.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("test_outputs", JSON, nullable=False),
    )
    # Per task the first row stored: a copy of the row from before 0005 where there was one (the
    # upgrade copied those first), else the first submitter's (as ON CONFLICT DO NOTHING kept).
    op.execute("""
        INSERT INTO solutions_old (task_pk, test_outputs)
        SELECT s.task_pk, s.test_outputs FROM solutions s
        WHERE s.id = (SELECT MIN(s2.id) FROM solutions s2 WHERE s2.task_pk = s.task_pk)
    """)
    _swap_in("solutions_old")
