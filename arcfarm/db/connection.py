"""Connections: `make_db_engine(url)` for PostgreSQL or SQLite, `make_session_factory(engine)`.

PostgreSQL is the farm's database (`postgresql+psycopg://user@host/db`); SQLite is embedded mode
(`sqlite:///path/arcfarm.db`), where foreign keys are switched on, writers wait for the lock
instead of failing, and WAL lets readers run beside the one writer.
"""
from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.orm import Session, sessionmaker


def make_db_engine(url: str, **kwargs) -> Engine:
    """An engine with pool_pre_ping (a worker outlives database restarts)."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        return sa.create_engine(url, pool_pre_ping=True, **kwargs)
    if parsed.database and parsed.database != ":memory:":
        Path(parsed.database).expanduser().parent.mkdir(parents=True, exist_ok=True)
    engine = sa.create_engine(url, pool_pre_ping=True, connect_args={"timeout": 30}, **kwargs)
    sa.event.listen(engine, "connect", _sqlite_pragmas)
    return engine


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    """Sessions that keep loaded attributes after commit (results are read after the write)."""
    return sessionmaker(engine, expire_on_commit=False)
