"""Access control: bearer token on the API, the API refusing to face a network without one, and
a read-only PostgreSQL role that sees the four views and nothing else."""
from __future__ import annotations

import secrets

import psycopg
import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from arcfarm.api.main import create_app
from arcfarm.cli.farm_cmd import is_loopback
from arcfarm.cli.main import app
from arcfarm.db.roles import VIEWS
from arcfarm.settings import get_settings

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
