"""Plain helpers of the reliability tests that test modules import (a uniquely named module:
`from conftest import ...` would find whichever conftest.py pytest loaded first)."""
from __future__ import annotations

import os
import secrets
from pathlib import Path

import sqlalchemy as sa

from arcfarm.db import migrate

PG_SERVER = os.environ.get("ARCFARM_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432")
REDIS_SERVER = os.environ.get("ARCFARM_TEST_REDIS", "redis://127.0.0.1:6379")


def create_database() -> str:
    name = f"arcfarm_test_{secrets.token_hex(6)}"
    admin = sa.create_engine(f"{PG_SERVER}/postgres", isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    url = f"{PG_SERVER}/{name}"
    migrate.upgrade(url)
    return url


def drop_database(url: str) -> None:
    name = url.rsplit("/", 1)[1]
    admin = sa.create_engine(f"{PG_SERVER}/postgres", isolation_level="AUTOCOMMIT", pool_pre_ping=True)
    with admin.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def farm_env(pg_url: str, redis_url: str, home: Path, **overrides: str) -> dict[str, str]:
    """ARCFARM_* of a farm whose lost jobs are noticed within seconds."""
    env = {"ARCFARM_DATABASE_URL": pg_url, "ARCFARM_BROKER_URL": redis_url,
           "ARCFARM_ARTIFACTS": str(home / "artifacts"), "ARCFARM_HOME": str(home),
           "ARCFARM_HEARTBEAT_S": "0.5", "ARCFARM_STALE_AFTER_S": "4",
           "ARCFARM_RECONCILE_S": "1", "ARCFARM_VISIBILITY_TIMEOUT_S": "3600",
           "ARCFARM_FAULT_HOOK": "reliability_hooks:install"}
    env.update(overrides)
    return env
