"""Fixtures of the farm tests: a throwaway PostgreSQL database, a Redis db + private queue, a real
Celery worker process, the API on them (fastapi TestClient), and a tiny CPU config. The conftest.py
of each folder that uses them imports them, so each folder gets its own database and worker.

Nothing is mocked: the database is real PostgreSQL (CREATE DATABASE arcfarm_test_<random>,
migrated, dropped at the end), the broker is real Redis (a db number and a queue name of this
test session; only this session's keys are deleted), the worker is `celery worker` in a
subprocess. ARCFARM_TEST_PG / ARCFARM_TEST_REDIS point elsewhere if needed.
"""
from __future__ import annotations

import os
import secrets
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import redis
import sqlalchemy as sa

from arcfarm.db import migrate
from arcfarm.db.connection import make_db_engine, make_session_factory
from arcfarm.settings import get_settings

ROOT = Path(__file__).resolve().parents[1]
PG_SERVER = os.environ.get("ARCFARM_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432")
REDIS_SERVER = os.environ.get("ARCFARM_TEST_REDIS", "redis://127.0.0.1:6379")


@pytest.fixture(scope="session")
def pg_url():
    name = f"arcfarm_test_{secrets.token_hex(6)}"
    # pre-ping: the reliability tests restart PostgreSQL while this engine is still pooled.
    admin = sa.create_engine(f"{PG_SERVER}/postgres", isolation_level="AUTOCOMMIT",
                             pool_pre_ping=True)
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    url = f"{PG_SERVER}/{name}"
    try:
        migrate.upgrade(url)
        yield url
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(scope="session")
def redis_url():
    """A Redis db of its own number; this session's keys are deleted afterwards."""
    db = 1 + secrets.randbelow(15)
    url = f"{REDIS_SERVER}/{db}"
    yield url
    client = redis.Redis.from_url(url)
    for key in client.scan_iter("*arcfarm-test-*"):
        client.delete(key)
    # Kombu's bookkeeping keys go too, unless another session still uses this db.
    rest = set(client.scan_iter("*"))
    if rest <= {b"_kombu.binding_deadlines", b"unacked", b"unacked_index", b"unacked_mutex"}:
        for key in rest:
            client.delete(key)
    client.close()


@pytest.fixture(scope="session")
def queue_name():
    return f"arcfarm-test-{secrets.token_hex(4)}"


@pytest.fixture(scope="session")
def farm_env(pg_url, redis_url, tmp_path_factory, tiny_model_dir) -> dict[str, str]:
    """ARCFARM_* variables of a farm on the test database and broker. The API may load the
    tiny model, and a model that does not exist (a job that must fail on every delivery)."""
    home = tmp_path_factory.mktemp("farm-home")
    return {"ARCFARM_DATABASE_URL": pg_url, "ARCFARM_BROKER_URL": redis_url,
            "ARCFARM_ARTIFACTS": str(home / "artifacts"), "ARCFARM_HOME": str(home),
            "ARCFARM_HEARTBEAT_S": "1", "ARCFARM_STALE_AFTER_S": "30",
            "ARCFARM_VISIBILITY_TIMEOUT_S": "3600",
            "ARCFARM_API_MODELS": f"{tiny_model_dir},/nonexistent/arcfarm-model"}


@pytest.fixture(scope="session")
def farm_settings(farm_env):
    return get_settings(farm_env)


@pytest.fixture(scope="session")
def session_factory(pg_url):
    engine = make_db_engine(pg_url)
    yield make_session_factory(engine)
    engine.dispose()


@pytest.fixture(scope="session")
def client(farm_settings):
    from fastapi.testclient import TestClient

    from arcfarm.api.main import create_app

    with TestClient(create_app(farm_settings)) as c:
        yield c


@pytest.fixture(scope="session")
def celery_worker(farm_env, queue_name, tmp_path_factory):
    """`celery worker --pool solo` on the test queue, in a subprocess; stopped at the end."""
    log = tmp_path_factory.mktemp("worker") / "worker.log"
    env = {k: v for k, v in os.environ.items() if not k.startswith("ARCFARM_")}
    env.update(farm_env, CUDA_VISIBLE_DEVICES="", ARCFARM_WORKER_NAME="test-worker")
    cmd = [str(Path(sys.executable).parent / "celery"), "-A", "arcfarm.workers.celery_app:app",
           "worker", "--pool", "solo", "--concurrency", "1", "-Q", queue_name,
           "-n", f"{queue_name}@%h", "--loglevel", "info", "--without-gossip", "--without-mingle"]
    with log.open("w") as out:
        proc = subprocess.Popen(cmd, env=env, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT)
    yield proc, log
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=60)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
