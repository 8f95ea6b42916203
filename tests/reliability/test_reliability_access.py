"""Access control: bearer token on the API, the API refusing to face a network without one, and
a read-only PostgreSQL role that sees the four views and nothing else."""
from __future__ import annotations

import secrets
import subprocess
from pathlib import Path

import psycopg
import pytest
import sqlalchemy as sa
import yaml
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from arcfarm.api.loopback import NO_TOKEN_MESSAGE, is_loopback
from arcfarm.api.main import create_app
from arcfarm.cli.main import app
from arcfarm.db.roles import VIEWS
from arcfarm.settings import Settings, get_settings

from reliability_helpers import FLIP, row_counts

QUEUE = "arcfarm-rel-nobody"


def test_write_endpoints_need_the_token(rel_env, rel_session_factory):
    guarded = get_settings({**rel_env, "ARCFARM_API_TOKEN": "s3cret"})
    body = {"tasks": {"flip": FLIP}, "config": "tiny-cpu", "queue": QUEUE}
    before = row_counts(rel_session_factory)
    with TestClient(create_app(guarded)) as c:
        for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": "Basic s3cret"},
                        {"Authorization": "s3cret"}):
            r = c.post("/runs", json=body, headers=headers)
            assert r.status_code == 401 and "bearer token" in r.json()["detail"]
            assert c.post("/runs/1/cancel", headers=headers).status_code == 401
        assert row_counts(rel_session_factory) == before
        ok = {"Authorization": "Bearer s3cret"}
        r = c.post("/runs", json=body, headers=ok)
        assert r.status_code == 201
        assert c.post(f"/runs/{r.json()['run_id']}/cancel", headers=ok).status_code == 200
        assert c.get("/health").status_code == 200


@pytest.mark.parametrize("host, loopback", [("127.0.0.1", True), ("localhost", True),
                                            ("::1", True), ("127.0.0.2", True),
                                            ("0.0.0.0", False), ("10.0.0.5", False),
                                            ("::", False), ("example.org", False)])
def test_loopback_hosts(host, loopback):
    assert is_loopback(host) is loopback


def test_api_refuses_a_network_host_without_a_token(rel_env):
    result = CliRunner().invoke(app, ["api", "--host", "0.0.0.0"], env=rel_env)
    assert result.exit_code == 2
    text = " ".join((result.output + getattr(result, "stderr", "")).split())
    assert "ARCFARM_API_TOKEN" in text and "0.0.0.0" in text


@pytest.fixture
def reader(rel_pg_url, rel_env):
    name = f"arcfarm_reader_{secrets.token_hex(4)}"
    result = CliRunner().invoke(app, ["db", "grant-reader", name], env=rel_env)
    assert result.exit_code == 0, result.output
    url = sa.make_url(rel_pg_url)
    conninfo = f"host={url.host} port={url.port or 5432} dbname={url.database} user={name}"
    yield conninfo
    admin = sa.create_engine(rel_pg_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'DROP OWNED BY "{name}"'))
        conn.execute(sa.text(f'DROP ROLE "{name}"'))
    admin.dispose()


REFUSED = [
    "INSERT INTO runs (name, config, model, code_version, dataset) VALUES ('x', '{}', 'm', 'v', 'd')",
    "UPDATE jobs SET status = 'done'",
    "DELETE FROM predictions",
    "SELECT * FROM solutions",
    "SELECT * FROM jobs",
    "SELECT * FROM tasks",
    "CREATE TABLE mine (x int)",
]


def test_reader_role_sees_the_views_and_nothing_else(reader):
    with psycopg.connect(reader, autocommit=True) as conn:
        for view in VIEWS:
            conn.execute(f"SELECT * FROM {view} LIMIT 5").fetchall()
        for sql in REFUSED:
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                conn.execute(sql)


def test_grant_reader_refuses_a_bad_role_name(rel_env):
    result = CliRunner().invoke(app, ["db", "grant-reader", 'x"; DROP TABLE runs; --'],
                                env=rel_env)
    assert result.exit_code == 2
    assert "role name" in result.output + getattr(result, "stderr", "")


# --- issue 20 item 5 ------------------------------------------------------------------------------

@pytest.mark.parametrize("peer", ["10.0.0.5", "192.168.1.20", "2001:db8::1", "::ffff:10.0.0.5"])
def test_app_without_a_token_refuses_network_clients(peer, rel_env, rel_session_factory):
    """The check lives in create_app: an app served by `uvicorn --factory --host 0.0.0.0`
    (no `arcfarm api` in between) still refuses a client that is not on loopback."""
    open_app = create_app(get_settings(rel_env))
    body = {"tasks": {"flip": FLIP}, "config": "tiny-cpu", "queue": QUEUE}
    before = row_counts(rel_session_factory)
    with TestClient(open_app, client=(peer, 40000)) as c:
        for r in (c.post("/runs", json=body), c.get("/runs"), c.get("/health"),
                  c.post("/runs/1/cancel")):
            assert r.status_code == 403 and r.json()["detail"] == NO_TOKEN_MESSAGE
    assert row_counts(rel_session_factory) == before
    with TestClient(open_app, client=("127.0.0.1", 40000)) as c:
        assert c.get("/runs").status_code == 200
    with TestClient(open_app, client=("::1", 40000)) as c:
        assert c.get("/runs").status_code == 200


def test_app_with_a_token_serves_network_clients_that_have_it(rel_env):
    guarded = create_app(get_settings({**rel_env, "ARCFARM_API_TOKEN": "s3cret"}))
    with TestClient(guarded, client=("10.0.0.5", 40000)) as c:
        assert c.get("/runs").status_code == 401
        assert c.get("/runs", headers={"Authorization": "Bearer s3cret"}).status_code == 200


@pytest.mark.parametrize("blank", [" ", "   ", "\t", " \n "])
def test_a_blank_token_is_no_token(blank, rel_env):
    assert get_settings({**rel_env, "ARCFARM_API_TOKEN": blank}).api_token is None
    assert Settings(api_token=blank).api_token is None
    result = CliRunner().invoke(app, ["api", "--host", "0.0.0.0"],
                                env={**rel_env, "ARCFARM_API_TOKEN": blank})
    assert result.exit_code == 2
    assert "ARCFARM_API_TOKEN" in " ".join((result.output + getattr(result, "stderr", "")).split())
    with TestClient(create_app(Settings(**_settings_values(rel_env), api_token=blank)),
                    client=("10.0.0.5", 40000)) as c:
        assert c.get("/runs").status_code == 403


def _settings_values(env: dict[str, str]) -> dict[str, str]:
    return get_settings(env).model_dump(exclude={"api_token"})


@pytest.mark.parametrize("name", ["/etc/hostname", "/etc/no-such-file", "../configs/tiny-cpu",
                                  "/proc/self/environ", "no-such-config", "tiny-cpu.yml"])
def test_every_config_that_is_not_bundled_gets_the_same_answer(name, rel_client,
                                                                rel_session_factory):
    """Whether a path exists on the server is not the API's to tell."""
    before = row_counts(rel_session_factory)
    r = rel_client.post("/runs", json={"tasks": {"flip": FLIP}, "config": name, "queue": QUEUE})
    assert r.status_code == 422
    assert r.json()["detail"].replace(repr(name), "NAME") == \
        "config NAME: not a bundled config; the API takes barc-search-learn, tiny-cpu, toy-cpu"
    assert row_counts(rel_session_factory) == before


# --- issue 20 item 3: Flower behind a login --------------------------------------------------------

COMPOSE = Path(__file__).resolve().parents[2] / "docker" / "compose.yml"


def _flower() -> dict:
    return yaml.safe_load(COMPOSE.read_text())["services"]["flower"]


def test_compose_publishes_flower_on_loopback_only():
    ports = _flower()["ports"]
    assert ports and all(str(p).startswith("127.0.0.1:") for p in ports), ports


def _run_flower_command(tmp_path, env: dict[str, str]) -> subprocess.CompletedProcess:
    """The service's command as its container runs it (compose turns $$ into $), with a stand-in
    `celery` first on PATH that prints the arguments it was given."""
    command = [part.replace("$$", "$") for part in _flower()["command"]]
    fake = tmp_path / "celery"
    fake.write_text('#!/bin/sh\necho "celery $*"\n')
    fake.chmod(0o755)
    return subprocess.run(command, capture_output=True, text=True, timeout=30,
                          env={"PATH": f"{tmp_path}:/usr/bin:/bin", **env})


def test_flower_refuses_to_start_without_basic_auth(tmp_path):
    assert _flower()["environment"]["FLOWER_BASIC_AUTH"] == "${FLOWER_BASIC_AUTH:-}"
    for env in ({}, {"FLOWER_BASIC_AUTH": ""}, {"FLOWER_BASIC_AUTH": ":"}, {"FLOWER_BASIC_AUTH": "admin:"},
                {"FLOWER_BASIC_AUTH": "admin:short"}, {"FLOWER_BASIC_AUTH": "no-colon-at-all-here"}):
        result = _run_flower_command(tmp_path, env)
        assert result.returncode == 1 and "celery" not in result.stdout
        assert "set FLOWER_BASIC_AUTH" in result.stderr


def test_flower_starts_with_the_login_from_the_environment(tmp_path):
    result = _run_flower_command(tmp_path, {"FLOWER_BASIC_AUTH": "admin:a long pa ss"})
    assert result.returncode == 0, result.stderr
    assert "flower --port=5555 --basic-auth=admin:a long pa ss" in result.stdout
