"""Alembic environment: runs migrations online against the URL the caller gives.

The URL comes from `config.attributes["url"]` (arcfarm.db.migrate), else `-x url=...`, else the
ARCFARM_DATABASE_URL environment variable. Migrations are written by hand (no autogenerate
needed), but target_metadata is set so `alembic revision --autogenerate` can diff the models.
"""
from __future__ import annotations

import os
from logging.config import fileConfig

from alembic import context

from arcfarm.db.connection import make_db_engine
from arcfarm.db.models import Base

config = context.config
target_metadata = Base.metadata


def _url() -> str:
    url = config.attributes.get("url") or context.get_x_argument(as_dictionary=True).get("url")
    url = url or os.environ.get("ARCFARM_DATABASE_URL")
    if not url:
        raise RuntimeError("no database URL: pass -x url=... or set ARCFARM_DATABASE_URL")
    return url


def run_migrations_online() -> None:
    if config.config_file_name is not None:  # the alembic command line, not the farm
        fileConfig(config.config_file_name, disable_existing_loggers=False)
    engine = make_db_engine(_url())
    try:
        with engine.connect() as connection:
            context.configure(connection=connection, target_metadata=target_metadata,
                              render_as_batch=connection.dialect.name == "sqlite")
            with context.begin_transaction():
                context.run_migrations()
    finally:
        engine.dispose()


if context.is_offline_mode():
    raise RuntimeError("offline (--sql) migrations are not supported; run against a database")
run_migrations_online()
