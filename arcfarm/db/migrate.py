"""Schema migrations, run from Python: `upgrade(url)` brings any database to the newest schema.

The Alembic scripts live in the repository's migrations/ folder; the Config is built here, so
it works from any working directory (the `alembic` command line uses alembic.ini at the root).
"""
from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

import arcfarm
from arcfarm.db.connection import make_db_engine

if TYPE_CHECKING:
    from arcfarm.settings import Settings

MIGRATIONS_DIR = Path(arcfarm.__file__).resolve().parents[1] / "migrations"


def alembic_config(url: str) -> Config:
    """An Alembic Config for `url` (passed as an attribute: URLs may hold '%', which ini files mangle)."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.attributes["url"] = url
    return config


def upgrade(url: str, revision: str = "head") -> None:
    command.upgrade(alembic_config(url), revision)


def upgrade_embedded(settings: Settings) -> None:
    """Create or migrate the embedded SQLite database on first use (a farm's PostgreSQL is
    migrated only by `arcfarm db upgrade`)."""
    if settings.sqlite_path is not None:
        settings.sqlite_path.parent.mkdir(parents=True, exist_ok=True)
        upgrade(settings.db_url)


def downgrade(url: str, revision: str = "base") -> None:
    command.downgrade(alembic_config(url), revision)


def current_revision(url: str) -> str | None:
    """The revision the database is at (None: no schema yet)."""
    engine = make_db_engine(url)
    try:
        with engine.connect() as conn:
            return MigrationContext.configure(conn).get_current_revision()
    finally:
        engine.dispose()


def head_revision() -> str | None:
    return ScriptDirectory.from_config(alembic_config("")).get_current_head()
