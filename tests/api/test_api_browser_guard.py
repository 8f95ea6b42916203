"""Requests a web page makes in a browser: cross-site writes and DNS rebinding are refused; and
the 500s the API review found (a non-ASCII bearer, a huge training id, a huge grid cell, an
unbounded login body) are 4xx."""
from __future__ import annotations

import json

from fastapi.testclient import TestClient
from test_api_responses import TASK

from arcfarm.api.main import create_app
from arcfarm.settings import Settings

LOCAL = ("127.0.0.1", 5000)
TOKEN = "operator-secret"


def _body(**extra) -> dict:
    return {"tasks": {"t": TASK}, "config": "tiny-cpu", **extra}


def _runs(client) -> int:
    return len(client.get("/runs", headers={"Authorization": f"Bearer {TOKEN}"}).json())


def test_without_a_token_a_browser_must_name_the_server_by_a_loopback_host(tmp_path):
    client = TestClient(create_app(Settings(home=tmp_path)), client=LOCAL)
    rebinding = {"host": "rebind.evil.example:8000", "sec-fetch-site": "same-origin"}
    assert client.get("/ui/", headers=rebinding).status_code == 403
    assert client.get("/runs", headers=rebinding).status_code == 403
    for host in ("127.0.0.1:8000", "localhost:8000", "[::1]:8000"):
        assert client.get("/ui/", headers={"host": host, "sec-fetch-site": "none"}).status_code == 200, host
    assert client.get("/runs").status_code == 200  # scripts (no browser headers) as before


def test_cross_site_writes_are_refused_and_bodies_must_be_json(tmp_path):
    app = create_app(Settings(home=tmp_path, api_token=TOKEN, broker_url=None))
    client = TestClient(app, client=LOCAL)
    auth = {"Authorization": f"Bearer {TOKEN}"}
    before = _runs(client)
    evil = client.post("/runs", content=json.dumps(_body()), headers={
        **auth, "host": "api.example:8000", "origin": "http://evil.example",
        "content-type": "application/json"})
    assert evil.status_code == 403 and "cross-site" in evil.json()["detail"]
    plain = client.post("/runs", content=json.dumps(_body(overrides={"initial_predictions": 0, "max_epochs": 0})),
                        headers={**auth, "content-type": "text/plain"})
    assert plain.status_code == 415 and "application/json" in plain.json()["detail"]
    assert client.post("/runs/1/cancel", headers={**auth, "origin": "null"}).status_code == 403
    assert _runs(client) == before
    same = client.post("/runs", json=_body(overrides={"max_epochs": 0, "initial_predictions": 0}),
                       headers={**auth, "host": "api.example:8000", "origin": "http://api.example:8000"})
    # past the guard: the route itself refuses this config (nothing to do), naming it
    assert same.status_code == 422 and "nothing to do" in same.text, same.text


def test_inputs_that_were_500s_are_4xx(tmp_path):
    client = TestClient(create_app(Settings(home=tmp_path, api_token=TOKEN)), client=LOCAL)
    auth = {"Authorization": f"Bearer {TOKEN}"}
    latin1 = "Bearer \u00e9t\u00e9".encode("latin-1")  # a header may carry any byte
    assert client.post("/runs", json=_body(), headers={"Authorization": latin1}).status_code == 401
    for adapter in ("training:2147483648", "training:" + "9" * 30, "training:\u0663"):
        r = client.post("/runs", json=_body(overrides={"base_adapter": adapter}), headers=auth)
        assert r.status_code == 422 and "training:<id>" in r.text, adapter
    huge_cell = {"train": [{"input": [[10**30]], "output": [[1]]}], "test": [{"input": [[1]]}]}
    r = client.post("/runs", json={"tasks": {"t": huge_cell}, "config": "tiny-cpu"}, headers=auth)
    assert r.status_code == 422 and "outside 0..9" in r.text
    login = client.post("/ui/login", content=b"token=" + b"x" * 200_000,
                        headers={"content-type": "application/x-www-form-urlencoded"})
    assert login.status_code == 413
