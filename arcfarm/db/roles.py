"""Database roles: a read-only PostgreSQL role for analysis (`arcfarm db grant-reader NAME`).

The reader may SELECT the four researcher views and nothing else: no table (so never
`solutions`, the test outputs), no INSERT/UPDATE/DELETE anywhere. Views run with their owner's
rights, so SELECT on a view is enough to read through it; PUBLIC's default rights on the
tables are revoked so that no role gets them by accident.
"""
from __future__ import annotations

import re

import sqlalchemy as sa
from sqlalchemy.engine import Engine

VIEWS = ("run_summary", "task_results", "epoch_stats", "prediction_log")
TABLES = ("runs", "tasks", "solutions", "jobs", "epochs", "predictions", "adapters", "attempts",
          "alembic_version")
ROLE_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


class RoleError(ValueError):
    """A role that cannot be created (bad name, not PostgreSQL)."""


def grant_reader(engine: Engine, name: str, password: str | None = None) -> None:
    """Create (or update) role `name` with LOGIN and SELECT on the views only."""
    if not ROLE_NAME.match(name):
        raise RoleError(f"role name {name!r}: use 1-63 lowercase letters, digits and _, "
                        "not starting with a digit")
    if engine.dialect.name != "postgresql":
        raise RoleError("roles need PostgreSQL (ARCFARM_DATABASE_URL); embedded SQLite has none")
    with engine.begin() as conn:
        exists = conn.scalar(sa.text("SELECT 1 FROM pg_roles WHERE rolname = :n"), {"n": name})
        verb = "ALTER" if exists else "CREATE"
        if password is None:
            conn.execute(sa.text(f'{verb} ROLE "{name}" LOGIN'))
        else:  # DDL takes no bind parameters: quote the literal the PostgreSQL way
            literal = "'" + password.replace("'", "''") + "'"
            conn.execute(sa.text(f'{verb} ROLE "{name}" LOGIN PASSWORD {literal}'))
        database = conn.scalar(sa.text("SELECT current_database()"))
        conn.execute(sa.text(f'GRANT CONNECT ON DATABASE "{database}" TO "{name}"'))
        conn.execute(sa.text(f'GRANT USAGE ON SCHEMA public TO "{name}"'))
        tables = ", ".join(TABLES)
        conn.execute(sa.text(f"REVOKE ALL ON {tables} FROM PUBLIC"))
        conn.execute(sa.text(f'REVOKE ALL ON {tables} FROM "{name}"'))
        conn.execute(sa.text(f'GRANT SELECT ON {", ".join(VIEWS)} TO "{name}"'))
