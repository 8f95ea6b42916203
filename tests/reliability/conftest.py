"""Fixtures of the reliability tests: a throwaway PostgreSQL database, an empty Redis db of our
own, real `celery worker` processes (tiny CPU model) that a test may kill, and the API on them.

Nothing is mocked. Faults are real where they can be (SIGKILL, FLUSHDB, a PostgreSQL restart,
a full tmpfs) and injected through ARCFARM_FAULT_HOOK=reliability_hooks:install where they
cannot on a CPU (CUDA out of memory, a model that crashes).
"""
from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import redis

from arcfarm.db.connection import make_db_engine, make_session_factory
from arcfarm.settings import get_settings

from reliability_db import PG_SERVER, REDIS_SERVER, create_database, drop_database, farm_env  # noqa: F401

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]


@pytest.fixture(scope="session")
def rel_pg_url():
    url = create_database()
    yield url
    drop_database(url)


@pytest.fixture(scope="session")
def rel_redis_url():
    """An empty Redis db (we FLUSHDB it in one test, so it must be nobody else's)."""
    for db in [*range(15, 0, -1)]:
        client = redis.Redis.from_url(f"{REDIS_SERVER}/{db}")
        if client.set("arcfarm-reliability-owner", str(os.getpid()), nx=True) and client.dbsize() == 1:
            client.close()
            break
        client.close()
    else:
        pytest.skip("no empty Redis db left for the reliability tests")
    url = f"{REDIS_SERVER}/{db}"
    yield url
    client = redis.Redis.from_url(url)
    client.flushdb()
    client.close()


@pytest.fixture(scope="session")
def rel_session_factory(rel_pg_url):
    engine = make_db_engine(rel_pg_url)
    yield make_session_factory(engine)
    engine.dispose()


@pytest.fixture(scope="session")
def rel_home(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("reliability-home")


@pytest.fixture(scope="session")
def rel_env(rel_pg_url, rel_redis_url, rel_home, tiny_model_dir) -> dict[str, str]:
    # The API loads only approved models: the tests' tiny model is approved like an operator would.
    return farm_env(rel_pg_url, rel_redis_url, rel_home, ARCFARM_API_MODELS=str(tiny_model_dir))


@pytest.fixture(scope="session")
def rel_client(rel_env):
    from fastapi.testclient import TestClient

    from arcfarm.api.main import create_app

    with TestClient(create_app(get_settings(rel_env))) as c:
        yield c


class WorkerProcess:
    """`celery worker --pool solo` in its own process group (so SIGKILL takes its sandbox too)."""

    def __init__(self, env: dict[str, str], queue: str, name: str, log: Path):
        self.name, self.log = name, log
        base = {k: v for k, v in os.environ.items() if not k.startswith("ARCFARM_")}
        base.update(env, CUDA_VISIBLE_DEVICES="", ARCFARM_WORKER_NAME=name,
                    PYTHONPATH=os.pathsep.join([str(HERE), base.get("PYTHONPATH", "")]))
        cmd = [str(Path(sys.executable).parent / "celery"), "-A", "arcfarm.workers.celery_app:app",
               "worker", "--pool", "solo", "--concurrency", "1", "-Q", queue,
               "-n", f"{name}-{queue}@%h", "--loglevel", "info", "--without-gossip",
               "--without-mingle", "--without-heartbeat"]
        with log.open("w") as out:
            self.proc = subprocess.Popen(cmd, env=base, cwd=ROOT, stdout=out,
                                         stderr=subprocess.STDOUT, start_new_session=True)

    def alive(self) -> bool:
        return self.proc.poll() is None

    def kill(self) -> None:
        """SIGKILL the whole process group: the worker and its sandbox, as a lost machine."""
        os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait()

    def stop(self) -> None:
        if self.alive():
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.kill()

    def tail(self) -> str:
        return self.log.read_text()[-4000:] if self.log.exists() else ""


@pytest.fixture
def start_worker(tmp_path):
    started: list[WorkerProcess] = []

    def start(env: dict[str, str], queue: str, name: str) -> WorkerProcess:
        worker = WorkerProcess(env, queue, name, tmp_path / f"{name}.log")
        started.append(worker)
        return worker

    yield start
    for worker in started:
        worker.stop()


@pytest.fixture(scope="session")
def sqlite_api(tmp_path_factory):
    """The API in embedded mode on its own SQLite file, and a session factory on that file.
    Only for requests that must be refused: an accepted run would run in this process."""
    from fastapi.testclient import TestClient

    from arcfarm.api.main import create_app

    home = tmp_path_factory.mktemp("sqlite-api-home")
    settings = get_settings({"ARCFARM_HOME": str(home)})
    with TestClient(create_app(settings)) as client:
        engine = make_db_engine(settings.db_url)
        yield client, make_session_factory(engine)
        engine.dispose()


@pytest.fixture(params=["postgresql", "sqlite"])
def any_api(request):
    """(client, session factory) on PostgreSQL (the farm) and on SQLite (embedded mode)."""
    if request.param == "postgresql":
        return request.getfixturevalue("rel_client"), request.getfixturevalue("rel_session_factory")
    return request.getfixturevalue("sqlite_api")
