"""The API refuses bad input with 422 and a message naming the task (or key) and field, and then
stores nothing; unknown runs are 404; the health check sees the real database and broker."""
from __future__ import annotations

import copy

import pytest
import redis
from fastapi.testclient import TestClient

from arcfarm.api.main import create_app

from farm_helpers import TASKS, row_counts


def _body(**changes):
    body = {"name": "bad", "tasks": copy.deepcopy(TASKS), "config": "tiny-cpu"}
    body.update(changes)
    return body


def _ragged():
    tasks = copy.deepcopy(TASKS)
    tasks["flip"]["train"][1]["output"] = [[6, 5], [1]]
    return tasks


def _bad_colour():
    tasks = copy.deepcopy(TASKS)
    tasks["same"]["test"][1]["input"] = [[12]]
    return tasks


BAD = {
    "ragged grid": (_body(tasks=_ragged()), ["'flip'", "train[1].output"]),
    "colour 12": (_body(tasks=_bad_colour()), ["'same'", "test[1].input"]),
    "no test": (_body(tasks={"t": {"train": TASKS["flip"]["train"], "test": []}}), ["'t'", "test"]),
    "unknown key": (_body(overrides={"max_epoch": 2}), ["max_epoch"]),
    "bad value": (_body(overrides={"lora_rank": 0}), ["lora_rank"]),
    "unknown config": (_body(config="no-such-config"), ["no-such-config"]),
    "config outside configs/": (_body(config="/etc/hostname"), ["bundled"]),
    "unknown dataset": ({"dataset": "arc-agi-9/nope", "config": "tiny-cpu"}, ["arc-agi-9/nope"]),
    "missing task id": ({"dataset": "arc-agi-1/training", "task_ids": ["nope"],
                         "config": "tiny-cpu"}, ["'nope'"]),
    "budget over visibility": (_body(overrides={"time_budget_s": 7200}), ["time_budget_s",
                                                                         "VISIBILITY"]),
}


@pytest.mark.parametrize("case", list(BAD))
def test_bad_run_is_422_and_stores_nothing(case, client, session_factory):
    body, words = BAD[case]
    before = row_counts(session_factory)
    r = client.post("/runs", json=body)
    assert r.status_code == 422, r.text
    detail = r.json()["detail"]
    assert isinstance(detail, str)
    for word in words:
        assert word in detail
    assert row_counts(session_factory) == before


@pytest.mark.parametrize("body", [
    {"config": "tiny-cpu"},  # neither dataset nor tasks
    {"dataset": "arc-agi-1/training", "tasks": TASKS, "config": "tiny-cpu"},  # both
    {"tasks": TASKS},  # no config
    {"tasks": TASKS, "config": "tiny-cpu", "priority": 11},
    {"tasks": TASKS, "config": "tiny-cpu", "colour": "blue"},  # unknown field
])
def test_malformed_body_is_422(body, client, session_factory):
    before = row_counts(session_factory)
    assert client.post("/runs", json=body).status_code == 422
    assert row_counts(session_factory) == before


@pytest.mark.parametrize("method, path", [
    ("get", "/runs/987654"), ("get", "/runs/987654/tasks"), ("get", "/runs/987654/submission"),
    ("get", "/runs/987654/tasks/flip"), ("post", "/runs/987654/cancel")])
def test_unknown_run_is_404(method, path, client):
    r = getattr(client, method)(path)
    assert r.status_code == 404 and "987654" in r.json()["detail"]


def test_health_sees_database_and_broker(client):
    r = client.get("/health")
    assert r.status_code == 200
    assert r.json() == {"status": "ok", "database": "ok", "broker": "ok"}


def test_health_reports_a_dead_broker(farm_settings):
    dead = farm_settings.model_copy(update={"broker_url": "redis://127.0.0.1:1/0"})
    with TestClient(create_app(dead)) as c:
        r = c.get("/health")
    assert r.status_code == 503
    assert r.json()["database"] == "ok" and r.json()["broker"] != "ok"


def test_dead_broker_keeps_the_run_for_reconcile(farm_settings, session_factory, queue_name):
    dead = farm_settings.model_copy(update={"broker_url": "redis://127.0.0.1:1/0"})
    with TestClient(create_app(dead)) as c:
        r = c.post("/runs", json=_body(name="broker-down", queue=f"{queue_name}-idle"))
        assert r.status_code == 201 and r.json()["enqueued"] is False
        run_id = r.json()["run_id"]
        assert c.get(f"/runs/{run_id}").json()["jobs"]["queued"] == 2
        c.post(f"/runs/{run_id}/cancel")  # keep later tests' reconcile away from it


def test_token_is_required_when_set(farm_settings, session_factory, redis_url, queue_name):
    guarded = farm_settings.model_copy(update={"api_token": "s3cret"})
    with TestClient(create_app(guarded)) as c:
        assert c.get("/runs").status_code == 401
        assert c.get("/runs", headers={"Authorization": "Bearer wrong"}).status_code == 401
        assert c.get("/runs", headers={"Authorization": "Bearer s3cret"}).status_code == 200
        assert c.get("/health").status_code == 200


def test_run_rows_come_before_messages(client, session_factory, redis_url, queue_name):
    """A valid run is committed, then one message per job lands on the run's queue."""
    before = row_counts(session_factory)
    r = client.post("/runs", json=_body(queue=f"{queue_name}-idle", name="queued-only"))
    assert r.status_code == 201, r.text
    run_id, jobs = r.json()["run_id"], r.json()["jobs"]
    assert r.json()["enqueued"] is True
    after = row_counts(session_factory)
    assert jobs == 2 and after["runs"] == before["runs"] + 1 and after["jobs"] == before["jobs"] + 2
    broker = redis.Redis.from_url(redis_url)
    # Nobody consumes this queue; Redis keeps one list per priority ("<queue>\x06\x16<p>").
    assert sum(broker.llen(k) for k in broker.scan_iter(f"{queue_name}-idle*")) == 2
    progress = client.get(f"/runs/{run_id}").json()
    assert progress["status"] == "queued" and progress["jobs"]["queued"] == 2
    assert progress["eta_s"] is None  # no job finished yet: no estimate
    cancelled = client.post(f"/runs/{run_id}/cancel").json()
    assert cancelled == {"run_id": run_id, "cancelled_jobs": 2}
    assert client.get(f"/runs/{run_id}").json()["status"] == "cancelled"
