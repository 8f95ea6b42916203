"""Settings come from the environment only when asked; the Celery config follows from them."""
from __future__ import annotations

import subprocess
import sys

import pytest

from arcfarm.jobs.broker import message_priority
from arcfarm.settings import SettingsError, get_settings
from arcfarm.workers.celery_app import make_celery


def test_embedded_when_no_urls(tmp_path):
    s = get_settings({"ARCFARM_HOME": str(tmp_path)})
    assert s.embedded
    assert s.db_url == f"sqlite:///{tmp_path.resolve() / 'arcfarm.db'}"
    assert s.visibility_timeout_s == 6 * 3600


def test_embedded_adapters_live_in_the_home_unless_told_otherwise(tmp_path):
    assert get_settings({"ARCFARM_HOME": str(tmp_path)}).artifacts == str(tmp_path / "artifacts")
    farm = get_settings({"ARCFARM_DATABASE_URL": "postgresql+psycopg://x/y", "ARCFARM_HOME": str(tmp_path)})
    assert farm.artifacts == "./artifacts"
    told = get_settings({"ARCFARM_HOME": str(tmp_path), "ARCFARM_ARTIFACTS": "s3://b/a"})
    assert told.artifacts == "s3://b/a"


def test_farm_mode_and_bad_values():
    s = get_settings({"ARCFARM_DATABASE_URL": "postgresql+psycopg://x/y",
                      "ARCFARM_BROKER_URL": "redis://h:6379/3", "ARCFARM_HEARTBEAT_S": "5"})
    assert not s.embedded and s.db_url == "postgresql+psycopg://x/y" and s.heartbeat_s == 5
    with pytest.raises(SettingsError, match="ARCFARM_DATABASE_URL"):
        get_settings({"ARCFARM_BROKER_URL": "redis://h:6379/3"})
    with pytest.raises(SettingsError, match="ARCFARM_HEARTBEAT_S"):
        get_settings({"ARCFARM_HEARTBEAT_S": "often"})


def test_importing_reads_no_settings():
    """Broken settings must not break imports: they are read when an app is built."""
    code = ("import arcfarm.api.main, arcfarm.workers.celery_app, arcfarm.workers.celery_task, "
            "arcfarm.cli.main")
    env = {"ARCFARM_HEARTBEAT_S": "not-a-number", "ARCFARM_BROKER_URL": "redis://x:1/0",
           "PATH": "/usr/bin:/bin"}
    proc = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr


def test_celery_config():
    s = get_settings({"ARCFARM_DATABASE_URL": "postgresql+psycopg://x/y",
                      "ARCFARM_BROKER_URL": "redis://h:6379/3", "ARCFARM_VISIBILITY_TIMEOUT_S": "7200"})
    conf = make_celery(s).conf
    assert conf.broker_url == "redis://h:6379/3"
    assert conf.task_acks_late and conf.task_reject_on_worker_lost
    assert conf.worker_prefetch_multiplier == 1
    assert conf.result_backend is None and conf.task_ignore_result
    assert conf.broker_transport_options["visibility_timeout"] == 7200
    assert conf.result_backend_transport_options["visibility_timeout"] == 7200
    assert conf.task_default_queue == "arcfarm" and conf.task_serializer == "json"
    assert [message_priority(p) for p in (9, 0, 42, -1)] == [0, 9, 0, 9]


def test_worker_command_pins_one_gpu():
    from arcfarm.workers.supervisor import gpu_ids, worker_specs

    assert gpu_ids("none") == [None] and gpu_ids("0, 2") == ["0", "2"]
    spec, = worker_specs(["2"], "gpu-queue", host="h")
    cmd, env = spec.argv, spec.env
    assert env["CUDA_VISIBLE_DEVICES"] == "2" and env["ARCFARM_WORKER_NAME"] == "gpu2@h"
    assert cmd[cmd.index("-n") + 1] == "gpu2@h" and cmd[cmd.index("-Q") + 1] == "gpu-queue"
    assert cmd[cmd.index("--pool") + 1] == "solo" and cmd[cmd.index("--concurrency") + 1] == "1"
    spec, = worker_specs([None], "q", host="h")
    assert spec.env["CUDA_VISIBLE_DEVICES"] == "" and spec.argv[spec.argv.index("-n") + 1] == "cpu@h"


def test_the_dashboard_reader_token_needs_an_api_token_of_its_own():
    with pytest.raises(SettingsError, match="ARCFARM_UI_READER_TOKEN is set but ARCFARM_API_TOKEN"):
        get_settings({"ARCFARM_UI_READER_TOKEN": "r"})
    with pytest.raises(SettingsError, match="must differ"):
        get_settings({"ARCFARM_UI_READER_TOKEN": "same", "ARCFARM_API_TOKEN": "same"})
    s = get_settings({"ARCFARM_UI_READER_TOKEN": "r", "ARCFARM_API_TOKEN": "a"})
    assert (s.api_token, s.ui_reader_token) == ("a", "r")
