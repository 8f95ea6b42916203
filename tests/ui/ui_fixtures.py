"""Browser-test fixtures: runs recorded by a real worker, the API serving them, and Chromium.

Recorded once per module: `arcfarm submit` in embedded mode runs two toy tasks with the
committed toy model through the worker's job runner (SQLite under a temporary ARCFARM_HOME),
then a second, smaller run for the compare page. `arcfarm api` serves that home on a free
loopback port with an operator token and a reader token. Playwright drives Debian's Chromium
(/usr/bin/chromium, `make browser-deps`); it never downloads a browser.

ARCFARM_UI_SCREENSHOTS=DIR also saves a screenshot of each page into DIR (docs/dashboard/);
ARCFARM_UI_RECORDED=DIR keeps (and then reuses) the recorded home.
"""
from __future__ import annotations

import json
import os
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
ARCFARM = str(Path(sys.executable).parent / "arcfarm")
CHROMIUM = os.environ.get("ARCFARM_CHROMIUM", "/usr/bin/chromium")
TOY_TASKS = ROOT / "data" / "demo" / "toy_challenges.json"
OPERATOR_TOKEN, READER_TOKEN = "ui-operator-token", "ui-reader-token"


def _env(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ARCFARM_")}
    # One torch thread: two fighting the sandbox workers for 2 cores run far slower.
    env.update(ARCFARM_HOME=str(home), ARCFARM_ARTIFACTS=str(home / "artifacts"),
               OMP_NUM_THREADS="1", HF_HUB_OFFLINE="1")
    return env


def _submit(home: Path, *args: str) -> int:
    proc = subprocess.run([ARCFARM, "submit", "--tasks", str(TOY_TASKS), "-c", "toy-cpu", "--json", *args],
                          env=_env(home), cwd=ROOT, capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout.splitlines()[0])["run_id"]


@pytest.fixture(scope="module")
def recorded(tmp_path_factory):
    """(home, main run id, second run id): two toy tasks with learning, then one without.
    ARCFARM_UI_RECORDED=DIR keeps the home in DIR and reuses it when it holds both runs (for
    taking screenshots again without recording again)."""
    keep = os.environ.get("ARCFARM_UI_RECORDED")
    home = Path(keep) if keep else tmp_path_factory.mktemp("ui-home")
    if keep and (home / "arcfarm.db").exists():
        assert query(home, "SELECT COUNT(*) FROM runs WHERE status = 'done'") == [(2,)], home
        return home, 1, 2
    main = _submit(home, "--task", "toy-1-tile", "--task", "toy-2-flip_horizontal", "--name", "toy-two")
    other = _submit(home, "--task", "toy-1-tile", "--set", "max_epochs=0", "--set", "initial_predictions=4",
                    "--name", "toy-one-no-learning")
    return home, main, other


def query(home: Path, sql: str, *params) -> list[tuple]:
    """What the farm recorded, read straight from the SQLite file (the test's ground truth)."""
    with sqlite3.connect(home / "arcfarm.db") as db:
        return db.execute(sql, params).fetchall()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server(recorded):
    """`arcfarm api` on the recorded home: its base URL."""
    home = recorded[0]
    port = _free_port()
    env = _env(home) | {"ARCFARM_API_TOKEN": OPERATOR_TOKEN, "ARCFARM_UI_READER_TOKEN": READER_TOKEN}
    log = (home / "api.log").open("w")
    proc = subprocess.Popen([ARCFARM, "api", "--port", str(port)], env=env, cwd=home,
                            stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while True:
        try:
            urllib.request.urlopen(base + "/health", timeout=2)
            break
        except OSError:
            assert proc.poll() is None, (home / "api.log").read_text()[-3000:]
            assert time.monotonic() < deadline, "the API did not answer /health in 120 s"
            time.sleep(0.3)
    yield base
    proc.terminate()
    proc.wait(timeout=30)
    log.close()


@pytest.fixture(scope="module")
def browser():
    if not Path(CHROMIUM).exists():
        pytest.fail(f"no Chromium at {CHROMIUM}: `make browser-deps` (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        yield chromium
        chromium.close()


def _login(browser, base: str, token: str):
    context = browser.new_context(viewport={"width": 1360, "height": 900})
    page = context.new_page()
    page.goto(base + "/ui/")
    assert "/ui/login" in page.url
    page.fill("input[name=token]", token)
    page.click("form.login button")
    page.wait_for_url(base + "/ui/")
    return page


@pytest.fixture(scope="module")
def operator(browser, server):
    page = _login(browser, server, OPERATOR_TOKEN)
    yield page
    page.context.close()


@pytest.fixture(scope="module")
def reader(browser, server):
    page = _login(browser, server, READER_TOKEN)
    yield page
    page.context.close()


def screenshot(page, name: str) -> None:
    folder = os.environ.get("ARCFARM_UI_SCREENSHOTS")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(folder) / f"{name}.png"), full_page=True)
