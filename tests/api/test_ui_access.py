"""Who may open the dashboard, and who sees test outputs there (no browser: Starlette's client).

Without ARCFARM_API_TOKEN only loopback clients get pages; with it, a login (or a bearer
header) is needed. The API token makes an operator, who sees the expected outputs; the reader
token shows every page but never a test output."""
from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient
from test_api_responses import _write_one_task_run

from arcfarm.api.main import create_app
from arcfarm.api.ui import access
from arcfarm.settings import Settings

API, READER = "operator-secret", "reader-secret"
LOCAL = ("127.0.0.1", 5000)


def _app(tmp_path, **tokens):
    app = create_app(Settings(home=tmp_path, **tokens))
    with app.state.session_factory() as session:
        run_id = _write_one_task_run(session)
    return app, run_id


def _expected_grids(html: str) -> int:
    return len(re.findall(r'class="expected"', html))


def test_without_a_token_loopback_only(tmp_path):
    app, run_id = _app(tmp_path)
    local = TestClient(app, client=LOCAL)
    assert local.get("/ui/").status_code == 200
    page = local.get(f"/ui/runs/{run_id}/tasks/t").text
    assert _expected_grids(page) == 1  # the loopback operator sees the expected output
    remote = TestClient(app, client=("10.1.2.3", 5000))
    response = remote.get("/ui/")
    assert response.status_code == 403 and "loopback" in response.text
    assert remote.get(f"/ui/runs/{run_id}/tasks/t").status_code == 403


def test_with_a_token_a_login_is_needed_and_roles_differ(tmp_path):
    app, run_id = _app(tmp_path, api_token=API, ui_reader_token=READER)
    client = TestClient(app, client=("10.1.2.3", 5000), follow_redirects=False)
    first = client.get(f"/ui/runs/{run_id}")
    assert first.status_code == 303 and first.headers["location"].startswith("/ui/login?next=")
    wrong = client.post("/ui/login", data={"token": "guess", "next": "/ui/"})
    assert wrong.status_code == 401 and "wrong token" in wrong.text
    assert access.COOKIE not in client.cookies

    for token, sees in ((API, True), (READER, False)):
        client.cookies.clear()
        login = client.post("/ui/login", data={"token": token, "next": f"/ui/runs/{run_id}/tasks/t"})
        assert login.status_code == 303 and login.headers["location"] == f"/ui/runs/{run_id}/tasks/t"
        assert token not in login.headers["set-cookie"]  # a signature, never the token
        page = client.get(f"/ui/runs/{run_id}/tasks/t")
        assert page.status_code == 200
        assert _expected_grids(page.text) == (1 if sees else 0), token


def test_forged_or_stale_cookies_are_refused(tmp_path):
    app, run_id = _app(tmp_path, api_token=API)
    client = TestClient(app, client=LOCAL, follow_redirects=False)
    for cookie in ("operator:" + "0" * 64, "reader:" + access.session_cookie(
            Settings(api_token=API, ui_reader_token=READER), access.Role.READER).split(":")[1],
            "admin:x", ""):
        client.cookies.set(access.COOKIE, cookie)
        assert client.get("/ui/").status_code == 303, cookie
    assert client.get("/ui/", headers={"Authorization": f"Bearer {API}"}).status_code == 200


@pytest.mark.parametrize("next_url", ["https://evil.example/", "//evil.example/", "/runs"])
def test_login_redirects_only_inside_the_dashboard(tmp_path, next_url):
    app, _ = _app(tmp_path, api_token=API)
    client = TestClient(app, client=LOCAL, follow_redirects=False)
    login = client.post("/ui/login", data={"token": API, "next": next_url})
    assert login.headers["location"] == "/ui/"


def test_a_missing_run_or_task_is_a_404_page(tmp_path):
    app, run_id = _app(tmp_path)
    client = TestClient(app, client=LOCAL)
    for url in ("/ui/runs/999", f"/ui/runs/{run_id}/tasks/nope", "/ui/compare?a=1&b=999",
                "/ui/runs/999/submission.json"):
        response = client.get(url)
        assert response.status_code == 404, url
        assert "not found" in response.text or "no task" in response.text, url
        assert response.headers["content-type"].startswith("text/html"), url
    assert client.get(f"/ui/runs/{run_id}?sort=nonsense").status_code == 400
