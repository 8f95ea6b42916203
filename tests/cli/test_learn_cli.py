"""`arcfarm learn` in embedded mode (SQLite under $ARCFARM_HOME, training in this process) and its
clear errors: unknown runs, policies and config keys are exit code 2 with a message, nothing stored."""
from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from arcfarm.db.connection import make_db_engine, make_session_factory
from arcfarm.db.migrate import upgrade_embedded
from arcfarm.settings import Settings

from farm_helpers import write_history

pytestmark = pytest.mark.slow
ARCFARM = str(Path(sys.executable).parent / "arcfarm")


def _arcfarm(home: Path, *args: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ARCFARM_")}
    env.update(ARCFARM_HOME=str(home), ARCFARM_ARTIFACTS=str(home / "artifacts"))
    return subprocess.run([ARCFARM, *args], env=env, cwd=home, capture_output=True, text=True,
                          timeout=400)


@pytest.fixture
def home(tmp_path) -> Path:
    settings = Settings(home=tmp_path)
    upgrade_embedded(settings)
    engine = make_db_engine(settings.db_url)
    with make_session_factory(engine)() as s:
        assert write_history(s) == 1
    engine.dispose()
    return tmp_path


def _trainings(home: Path) -> int:
    return sqlite3.connect(home / "arcfarm.db").execute("SELECT COUNT(*) FROM trainings").fetchone()[0]


@pytest.mark.parametrize("args,message", [
    (["--runs", "1,7"], "runs [7] do not exist"),
    (["--runs", "one"], "--runs 'one'"),
    (["--runs", "1", "--policy", "best"], "policy 'best'"),
    (["--runs", "1", "--set", "lora_rnk=4"], "unknown config key 'lora_rnk'"),
])
def test_bad_input_is_a_clear_error_and_stores_nothing(home, args, message):
    proc = _arcfarm(home, "learn", "-c", "tiny-cpu", "--out", "x", *args)
    assert proc.returncode == 2, proc.stderr
    assert message in " ".join(proc.stderr.split())
    assert _trainings(home) == 0


def test_learn_trains_here_and_records_the_training(home, tiny_model_dir):
    proc = _arcfarm(home, "learn", "--runs", "1", "--policy", "passing", "-c", "tiny-cpu",
                    "--set", f"model={tiny_model_dir}", "--set", "max_seq_len=2048",
                    "--out", "pass-1", "--json")
    assert proc.returncode == 0, proc.stderr
    row = json.loads(proc.stdout)
    assert row["status"] == "done" and row["name"] == "pass-1" and row["policy"] == "passing"
    assert row["n_examples"] == 1 and row["steps"] == 1  # one program passes every train pair
    assert Path(row["adapter_uri"].removeprefix("file://")).is_relative_to(home / "artifacts")
    shown = _arcfarm(home, "trainings", "1")
    assert shown.returncode == 0 and "base_adapter=training:1" in shown.stdout


def test_on_a_farm_learn_queues_the_training_for_its_queue(farm_env, farm_settings, session_factory,
                                                          tmp_path, queue_name):
    """With a broker, `arcfarm learn` stores the row (queued) and leaves one message on the
    training queue; it trains nothing itself."""
    from arcfarm.jobs.queue import CeleryQueue

    with session_factory() as s:
        run_id = write_history(s, "cli-farm-source")
    queue = f"{queue_name}-train"  # no worker listens here
    env = {k: v for k, v in os.environ.items() if not k.startswith("ARCFARM_")}
    env.update(farm_env)
    proc = subprocess.run([ARCFARM, "learn", "--runs", str(run_id), "-c", "tiny-cpu", "--out", "farm",
                           "--queue", queue, "--json"], env=env, cwd=tmp_path, capture_output=True,
                          text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    row = json.loads(proc.stdout)
    assert row["status"] == "queued" and row["queue"] == queue and row["delivery_count"] == 0
    celery = CeleryQueue(farm_settings)
    try:
        assert celery.waiting_job_ids({queue}) == {row["id"]}
        with celery.app.connection_for_write() as conn:
            conn.default_channel.client.delete(queue)
    finally:
        celery.close()


def test_solve_refuses_a_training_reference_up_front_and_trainings_says_when_there_are_none(tmp_path):
    from typer.testing import CliRunner

    from arcfarm.cli.main import app
    res = CliRunner().invoke(app, ["solve", "data/demo/toy_challenges.json", "-c", "toy-cpu",
                                   "--set", "base_adapter=training:1"])
    assert res.exit_code == 2 and "training:1 is for farm runs" in " ".join(res.output.split())
    proc = _arcfarm(tmp_path, "trainings")  # a new home: its database made on first use
    assert proc.returncode == 0 and "no trainings yet" in proc.stderr
