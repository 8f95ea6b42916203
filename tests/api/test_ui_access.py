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


def _test_output_grids(html: str) -> int:
    """Grids that are outputs for a test input: attempts and programs' test outputs."""
    return len(re.findall(r"<figcaption>(attempt [12]|test output \d+) <small>", html))


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


def test_a_reader_sees_verdicts_but_no_test_output_grid(tmp_path):
    """A right attempt or a right program's test output is the expected output itself."""
    app, run_id = _app(tmp_path, api_token=API, ui_reader_token=READER)
    client = TestClient(app, client=LOCAL)
    operator = client.get(f"/ui/runs/{run_id}/tasks/t", headers={"Authorization": f"Bearer {API}"}).text
    reader = client.get(f"/ui/runs/{run_id}/tasks/t", headers={"Authorization": f"Bearer {READER}"}).text
    assert _test_output_grids(operator) == 2  # attempt 1 and the program's test output (no attempt 2)
    assert _test_output_grids(reader) == 0 and _expected_grids(reader) == 0
    assert "right" in reader  # the verdict, as the reader role's views show it


def test_a_session_ends_with_its_token_or_its_age(tmp_path):
    app, run_id = _app(tmp_path, api_token=API, ui_reader_token=READER)
    client = TestClient(app, client=LOCAL, follow_redirects=False)
    old = access.session_cookie(Settings(api_token=API, ui_reader_token="the-old-reader"), access.Role.READER)
    expired = access.session_cookie(app.state.settings, access.Role.OPERATOR, now=1_000_000)
    fresh = access.session_cookie(app.state.settings, access.Role.READER)
    for cookie, code in ((old, 303), (expired, 303), (fresh, 200)):
        client.cookies.set(access.COOKIE, cookie)
        assert client.get("/ui/").status_code == code, cookie
    assert 'action="/ui/logout"' in client.get("/ui/").text
    assert client.post("/ui/logout").status_code == 303


def test_task_ids_with_a_slash_open_in_the_api_and_the_dashboard(tmp_path):
    app = create_app(Settings(home=tmp_path))
    with app.state.session_factory() as session:
        run_id = _write_one_task_run(session, task_id="family/a b")
    client = TestClient(app, client=LOCAL)
    assert client.get(f"/runs/{run_id}/tasks/family%2Fa%20b").json()["result"]["task_id"] == "family/a b"
    page = client.get(f"/ui/runs/{run_id}")
    link = re.search(r'href="(/ui/runs/\d+/tasks/[^"]+)"', page.text).group(1)
    assert client.get(link).status_code == 200


def test_dashboard_errors_are_pages_not_json(tmp_path):
    app, _ = _app(tmp_path)
    client = TestClient(app, client=LOCAL)
    for path, code in (("/ui/nope", 404), ("/ui/runs/abc", 422), ("/ui/runs/999999", 404)):
        response = client.get(path)
        assert response.status_code == code, path
        assert response.headers["content-type"].startswith("text/html"), path
    assert client.get("/runs/abc").headers["content-type"] == "application/json"  # the API stays JSON
