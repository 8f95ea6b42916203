"""Bad input, through the API and the CLI: every malformed submission is refused with a 4xx (exit
code 2 on the command line) and a message naming what is wrong, and nothing is stored."""
from __future__ import annotations

import copy
import html
import json

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from arcfarm.cli.main import app

from reliability_helpers import FLIP, row_counts

QUEUE = "arcfarm-rel-nobody"  # no worker listens: a wrongly accepted run would just sit there


def _body(**changes) -> dict:
    body = {"name": "bad", "tasks": {"flip": copy.deepcopy(FLIP)}, "config": "tiny-cpu",
            "queue": QUEUE}
    body.update(changes)
    return body


def _grid(where: str, grid) -> dict:
    """The flip task with the grid at `where` ("train.0.input") replaced."""
    t = copy.deepcopy(FLIP)
    part, index, field = where.split(".")
    t[part][int(index)][field] = grid
    return _body(tasks={"flip": t})


def _raw(obj) -> bytes:
    return json.dumps(obj).encode()


FLIP_JSON = json.dumps(FLIP)
# name: (raw body, status, words the message must contain)
BAD = {
    "not JSON": (b'{"tasks": ', 400, ["not valid JSON"]),
    "empty body": (b"", 400, ["not valid JSON"]),
    "not UTF-8": (b"\xff\xfe\x00", 400, ["not valid JSON"]),
    "JSON array": (b"[1, 2]", 422, ["dictionary"]),
    "duplicate task id": (('{"config": "tiny-cpu", "tasks": {"a": %s, "a": %s}}'
                           % (FLIP_JSON, FLIP_JSON)).encode(), 422, ["duplicate key 'a'"]),
    "no tasks": (_raw(_body(tasks={})), 422, ["non-empty"]),
    "tasks a list": (_raw(_body(tasks=[FLIP])), 422, ["tasks"]),
    "task a number": (_raw(_body(tasks={"t": 5})), 422, ["task 't'"]),
    "no train key": (_raw(_body(tasks={"t": {"test": FLIP["test"]}})), 422, ["'t'", "train"]),
    "empty train": (_raw(_body(tasks={"t": {"train": [], "test": FLIP["test"]}})), 422,
                    ["'t'", "no train pairs"]),
    "empty test": (_raw(_body(tasks={"t": {"train": FLIP["train"], "test": []}})), 422,
                   ["'t'", "no test inputs"]),
    "ragged rows": (_raw(_grid("train.0.input", [[1, 2], [3]])), 422, ["train[0].input"]),
    "colour 10": (_raw(_grid("test.0.input", [[10]])), 422, ["test[0].input"]),
    "colour -1": (_raw(_grid("train.1.output", [[-1]])), 422, ["train[1].output"]),
    "colour 1.5": (_raw(_grid("train.0.output", [[1.5]])), 422, ["train[0].output"]),
    "colour true": (_raw(_grid("train.0.input", [[True]])), 422, ["train[0].input"]),
    "colour '1'": (_raw(_grid("train.0.input", [["1"]])), 422, ["train[0].input"]),
    "31x31 grid": (_raw(_grid("train.0.input", [[0] * 31] * 31)), 422, ["train[0].input"]),
    "no rows": (_raw(_grid("test.0.input", [])), 422, ["test[0].input"]),
    "grid a string": (_raw(_grid("train.0.input", "abc")), 422, ["train[0].input"]),
    "task id too long": (_raw(_body(tasks={"x" * 300: FLIP})), 422, ["longer than 200"]),
    "unknown dataset": (_raw({"dataset": "arc-agi-9/nope", "config": "tiny-cpu"}), 422,
                        ["arc-agi-9/nope"]),
    "dataset a server path": (_raw({"dataset": "/etc", "config": "tiny-cpu"}), 422,
                              ["not a named dataset"]),
    "task not in dataset": (_raw({"dataset": "arc-agi-1/training", "task_ids": ["nope"],
                                  "config": "tiny-cpu"}), 422, ["'nope'"]),
    "task listed twice": (_raw({"dataset": "arc-agi-1/training", "config": "tiny-cpu",
                                "task_ids": ["007bbfb7", "007bbfb7"]}), 422, ["listed twice"]),
    "unknown config key": (_raw(_body(overrides={"max_epoch": 2})), 422, ["max_epoch"]),
    "negative budget": (_raw(_body(overrides={"time_budget_s": -5})), 422, ["time_budget_s"]),
    "negative predictions": (_raw(_body(overrides={"initial_predictions": -1})), 422,
                             ["initial_predictions"]),
    "wrong type in config": (_raw(_body(overrides={"max_epochs": "three"})), 422, ["max_epochs"]),
    "overrides a list": (_raw(_body(overrides=[1])), 422, ["overrides"]),
    "unknown config": (_raw(_body(config="no-such-config")), 422, ["no-such-config"]),
    "config outside configs/": (_raw(_body(config="/etc/hostname")), 422, ["bundled"]),
    "priority 11": (_raw(_body(priority=11)), 422, ["priority"]),
    "priority a word": (_raw(_body(priority="high")), 422, ["priority"]),
    "unknown field": (_raw(_body(colour="blue")), 422, ["colour"]),
    "dataset and tasks": (_raw(_body(dataset="arc-agi-1/training")), 422, ["exactly one"]),
    "neither": (_raw({"config": "tiny-cpu"}), 422, ["exactly one"]),
    "empty name": (_raw(_body(name="")), 422, ["name"]),
    "queue with a space": (_raw(_body(queue="a b")), 422, ["queue"]),
    "limit 0": (_raw({"dataset": "arc-agi-1/training", "config": "tiny-cpu", "limit": 0}), 422,
                ["limit"]),
    "config a number": (_raw(_body(config=5)), 422, ["config"]),
}


@pytest.mark.parametrize("case", list(BAD))
def test_api_refuses_bad_input_and_stores_nothing(case, rel_client, rel_session_factory):
    raw, status, words = BAD[case]
    before = row_counts(rel_session_factory)
    r = rel_client.post("/runs", content=raw, headers={"Content-Type": "application/json"})
    assert r.status_code == status, r.text
    detail = r.json()["detail"]
    assert isinstance(detail, str)
    for word in words:
        assert word in detail, detail
    assert row_counts(rel_session_factory) == before


def test_api_refuses_a_50_mb_body_with_413(rel_client, rel_session_factory):
    before = row_counts(rel_session_factory)
    body = _raw(_body(name="x" * (50 * 1024 * 1024)))
    r = rel_client.post("/runs", content=body, headers={"Content-Type": "application/json"})
    assert r.status_code == 413 and "exceeds the limit" in r.json()["detail"]

    def chunks():  # no Content-Length: counted as it streams
        for _ in range(50):
            yield b"x" * (1024 * 1024)
    r = rel_client.post("/runs", content=chunks(), headers={"Content-Type": "application/json"})
    assert r.status_code == 413
    assert row_counts(rel_session_factory) == before


def test_api_still_accepts_a_good_body(rel_client):
    r = rel_client.post("/runs", json=_body(name="good"))
    assert r.status_code == 201, r.text
    rel_client.post(f"/runs/{r.json()['run_id']}/cancel")


def _bad_files(tmp_path):
    (tmp_path / "broken.json").write_text('{"train": [')
    colour = copy.deepcopy(FLIP)
    colour["test"][0]["input"] = [[12]]
    (tmp_path / "colour.json").write_text(json.dumps(colour))
    (tmp_path / "flip.json").write_text(json.dumps(FLIP))
    return tmp_path


CLI_BAD = {
    "invalid JSON file": (["--tasks", "{d}/broken.json"], ["cannot read JSON"]),
    "missing file": (["--tasks", "{d}/nope.json"], ["no such file"]),
    "colour 12": (["--tasks", "{d}/colour.json"], ["test[0].input"]),
    "unknown key": (["--tasks", "{d}/flip.json", "--set", "max_epoch=1"], ["max_epoch"]),
    "--set without =": (["--tasks", "{d}/flip.json", "--set", "max_epochs"], ["key=value"]),
    "negative budget": (["--tasks", "{d}/flip.json", "--set", "time_budget_s=-1"],
                        ["time_budget_s"]),
    "unknown dataset": (["--dataset", "arc-agi-7/x"], ["arc-agi-7/x"]),
    "task not in dataset": (["--dataset", "arc-agi-1/training", "--task", "nope"], ["'nope'"]),
    "dataset and tasks": (["--dataset", "arc-agi-1/training", "--tasks", "{d}/flip.json"],
                          ["exactly one"]),
    "priority 10": (["--tasks", "{d}/flip.json", "--priority", "10"], ["priority"]),
}


@pytest.mark.parametrize("case", list(CLI_BAD))
def test_cli_refuses_bad_input_and_stores_nothing(case, tmp_path, rel_env, rel_session_factory):
    args, words = CLI_BAD[case]
    folder = _bad_files(tmp_path)
    args = [a.format(d=folder) for a in args]
    before = row_counts(rel_session_factory)
    result = CliRunner().invoke(app, ["submit", "--config", "tiny-cpu", "--queue", QUEUE, *args],
                                env=rel_env)
    assert result.exit_code == 2, result.output
    text = " ".join((result.output + getattr(result, "stderr", "")).split())
    for word in words:
        assert word in text, text
    assert row_counts(rel_session_factory) == before


# --- issue 20: input that used to reach the database as a server error -------------------------

TINY = {"train": [{"input": [[0]], "output": [[0]]}], "test": [{"input": [[0]]}]}


def _many_tasks(n: int) -> bytes:
    return _raw(_body(tasks={f"t{i}": TINY for i in range(n)}))


def _nested(depth: int) -> bytes:
    return b'{"config": "tiny-cpu", "tasks": ' + b"[" * depth + b"]" * depth + b"}"


FLIP_RAW = json.dumps(FLIP)
# name: (raw body, words the message must contain); each is a 422 on PostgreSQL and SQLite
BAD_TEXT = {
    "NUL in a task id": (_raw(_body(tasks={"a\x00b": FLIP})), ["'a\\x00b'", "NUL"]),
    "NUL in the run name": (_raw(_body(name="run\x00")), ["name", "NUL"]),
    "NUL in a config value": (_raw(_body(overrides={"device": "cpu\x00"})), ["device", "NUL"]),
    "NUL in an override key": (_raw(_body(overrides={"seed\x00": 1})), ["overrides", "NUL"]),
    "lone surrogate in a task id": (
        ('{"config": "tiny-cpu", "queue": "%s", "tasks": {"a\\ud800": %s}}'
         % (QUEUE, FLIP_RAW)).encode(), ["'a\\ud800'", "surrogate"]),
    "lone surrogate in the run name": (
        ('{"config": "tiny-cpu", "name": "x\\udfff", "tasks": {"a": %s}}' % FLIP_RAW).encode(),
        ["name", "surrogate"]),
    "JSON nested past the parser": (_nested(100_000), ["nested deeper than 32"]),
    "JSON nested 40 deep": (_nested(40), ["nested deeper than 32"]),
    "100,000 inline tasks": (_many_tasks(100_000), ["100000 tasks", "10000"]),
    "10,001 inline tasks": (_many_tasks(10_001), ["10001 tasks", "10000"]),
    "exec_timeout_s 'inf'": (_raw(_body(overrides={"exec_timeout_s": "inf"})),
                             ["exec_timeout_s", "finite"]),
    "learning_rate NaN": (b'{"config": "tiny-cpu", "tasks": {"a": %s}, "overrides": '
                          b'{"learning_rate": NaN}}' % FLIP_RAW.encode(), ["learning_rate", "finite"]),
    "10,001 task ids": (_raw({"dataset": "arc-agi-1/training", "config": "tiny-cpu",
                              "task_ids": [f"x{i}" for i in range(10_001)]}), ["task_ids", "10000"]),
    "10,000 task ids, one twice": (_raw({"dataset": "arc-agi-1/training", "config": "tiny-cpu",
                                          "task_ids": [f"x{i}" for i in range(9_999)] + ["x0"]}),
                                    ["'x0' is listed twice"]),
    "dataset limit 10**30": (_raw({"dataset": "arc-agi-1/training", "config": "tiny-cpu",
                                   "limit": 10**30}), ["limit"]),
}


@pytest.mark.parametrize("case", list(BAD_TEXT))
def test_unstorable_input_is_422_on_postgres_and_sqlite(case, any_api):
    client, session_factory = any_api
    raw, words = BAD_TEXT[case]
    before = row_counts(session_factory)
    r = client.post("/runs", content=raw, headers={"Content-Type": "application/json"})
    assert r.status_code == 422, r.text[:500]
    detail = r.json()["detail"]
    assert isinstance(detail, str)
    for word in words:
        assert word in detail, detail
    assert row_counts(session_factory) == before


BAD_GETS = {
    "limit -1": ("/runs?limit=-1", ["query.limit", "greater than or equal to 1"]),
    "limit 0": ("/runs?limit=0", ["query.limit"]),
    "limit 1001": ("/runs?limit=1001", ["query.limit", "less than or equal to 1000"]),
    "limit 10**30": (f"/runs?limit={10**30}", ["query.limit"]),
    "run id 10**30": (f"/runs/{10**30}", ["path.run_id"]),
    "run id 2**31": (f"/runs/{2**31}/tasks", ["path.run_id"]),
    "run id 2**63": (f"/runs/{2**63}/tasks/t", ["path.run_id"]),
    "run id 0": ("/runs/0/submission", ["path.run_id"]),
    "NUL in a task id": ("/runs/1/tasks/a%00b", ["task id", "NUL"]),
    "dashboard: run id 10**30": (f"/ui/runs/{10**30}", ["path.run_id"]),
    "dashboard: NUL in a task id": ("/ui/runs/1/tasks/a%00b", ["task id", "NUL"]),
    "dashboard: submission of run 2**31": (f"/ui/runs/{2**31}/submission.json", ["path.run_id"]),
    "dashboard: compare 10**30": (f"/ui/compare?a={10**30}&b=1", ["query.a"]),
}


@pytest.mark.parametrize("case", list(BAD_GETS))
def test_out_of_range_parameters_are_422(case, any_api):
    client, _ = any_api
    url, words = BAD_GETS[case]
    if url.startswith("/ui/"):  # the dashboard, without a token, serves loopback clients only
        client = TestClient(client.app, client=("127.0.0.1", 50000))
    r = client.get(url)
    assert r.status_code == 422, r.text
    # The API answers JSON; the dashboard its own error page, naming the same problem.
    detail = html.unescape(r.text) if url.startswith("/ui/") else r.json()["detail"]
    for word in words:
        assert word in detail, detail


def test_the_largest_id_is_a_404_and_limit_caps_the_list(any_api):
    client, _ = any_api
    assert client.get(f"/runs/{2**31 - 1}").status_code == 404
    assert client.post(f"/runs/{2**31 - 1}/cancel").status_code == 404
    r = client.get("/runs?limit=1000")
    assert r.status_code == 200 and len(r.json()) <= 1000


def test_a_large_task_set_is_stored_in_chunks(rel_client, rel_session_factory):
    """2,500 tasks: more rows than one statement takes (writes.CHUNK_ROWS), all stored once."""
    before = row_counts(rel_session_factory)
    r = rel_client.post("/runs", content=_many_tasks(2_500),
                        headers={"Content-Type": "application/json"})
    assert r.status_code == 201, r.text[:500]
    run_id = r.json()["run_id"]
    rel_client.post(f"/runs/{run_id}/cancel")
    after = row_counts(rel_session_factory)
    assert after["jobs"] - before["jobs"] == 2_500
    assert r.json()["jobs"] == 2_500


def _bad_text_files(tmp_path):
    (tmp_path / "nul_challenges.json").write_text(json.dumps({"a\x00b": FLIP}))
    (tmp_path / "deep.json").write_text("[" * 100_000 + "]" * 100_000)
    (tmp_path / "many_challenges.json").write_text(json.dumps({f"t{i}": TINY for i in range(10_001)}))
    (tmp_path / "flip.json").write_text(json.dumps(FLIP))
    return tmp_path


CLI_BAD_TEXT = {
    "NUL in a task id": (["--tasks", "{d}/nul_challenges.json"], ["'a\\x00b'", "NUL"]),
    "lone surrogate in --name": (["--tasks", "{d}/flip.json", "--name", "x\udcff"],
                                 ["run name", "surrogate"]),
    "nested past the parser": (["--tasks", "{d}/deep.json"], ["nested too deeply"]),
    "10,001 tasks": (["--tasks", "{d}/many_challenges.json"], ["10001 tasks", "10000"]),
    "--set exec_timeout_s=inf": (["--tasks", "{d}/flip.json", "--set", "exec_timeout_s=inf"],
                                 ["exec_timeout_s", "finite"]),
}


@pytest.mark.parametrize("case", list(CLI_BAD_TEXT))
def test_cli_refuses_unstorable_input(case, tmp_path, rel_env, rel_session_factory):
    args, words = CLI_BAD_TEXT[case]
    folder = _bad_text_files(tmp_path)
    args = [a.format(d=folder) for a in args]
    before = row_counts(rel_session_factory)
    result = CliRunner().invoke(app, ["submit", "--config", "tiny-cpu", "--queue", QUEUE, *args],
                                env=rel_env)
    assert result.exit_code == 2, result.output
    text = " ".join((result.output + getattr(result, "stderr", "")).split())
    for word in words:
        assert word in text, text
    assert row_counts(rel_session_factory) == before


# --- issue 20 item 1: bounded overrides, and the API's narrower policy ----------------------------

# name: (overrides, words the message must contain); 422 on PostgreSQL and SQLite
BAD_OVERRIDES = {
    # the requests of the issue: past RunConfig's ceilings, which bind the CLI too
    "exec_workers 100000": ({"exec_workers": 100_000}, ["exec_workers", "256"]),
    "exec_memory_mb 1e11": ({"exec_memory_mb": 1e11}, ["exec_memory_mb", "65536"]),
    "exec_timeout_s 1e308": ({"exec_timeout_s": 1e308}, ["exec_timeout_s", "600"]),
    "initial_predictions 1e12": ({"initial_predictions": 1e12}, ["initial_predictions", "100000"]),
    "max_new_tokens 1e9": ({"max_new_tokens": 10**9}, ["max_new_tokens", "131072"]),
    "max_seq_len 1e12": ({"max_seq_len": 10**12}, ["max_seq_len", "131072"]),
    "learning_rate 1e308": ({"learning_rate": 1e308}, ["learning_rate", "1"]),
    "seed 10**30": ({"seed": 10**30}, ["seed"]),
    "model /etc": ({"model": "/etc"}, ["'model'", "'/etc'", "not a model the API may load"]),
    "model an unknown hub id": ({"model": "someone/unknown-repo"},
                                ["'someone/unknown-repo'", "not a model the API may load"]),
    "model a path out of the repo": ({"model": "models/../../etc"}, ["not a model the API may load"]),
    "model 600 characters": ({"model": "m" * 600}, ["model", "500"]),
    # within RunConfig's ceilings, past the API's default policy
    "exec_workers 9": ({"exec_workers": 9}, ["exec_workers", "outside the API's range 0..8"]),
    "exec_workers '100' as a string": ({"exec_workers": "100"}, ["exec_workers", "0..8"]),
    "exec_timeout_s 60": ({"exec_timeout_s": 60}, ["exec_timeout_s", "0.1..10"]),
    "max_epochs 50": ({"max_epochs": 50}, ["max_epochs", "0..16"]),
    "learning_rate 0.5": ({"learning_rate": 0.5}, ["learning_rate", "0..0.01"]),
    "device": ({"device": "cuda:7"}, ["'device'", "may not override"]),
    "base_adapter a server folder": ({"base_adapter": "/etc"}, ["'base_adapter'", "'/etc'",
                                                                "training:<id>"]),
    "relabel_top_k 5000": ({"relabel_top_k": 5000}, ["relabel_top_k", "1..1024"]),
}


@pytest.mark.parametrize("case", list(BAD_OVERRIDES))
def test_overrides_past_the_bounds_or_the_policy_are_422(case, any_api):
    client, session_factory = any_api
    values, words = BAD_OVERRIDES[case]
    before = row_counts(session_factory)
    r = client.post("/runs", json=_body(overrides=values))
    assert r.status_code == 422, r.text
    detail = r.json()["detail"]
    for word in words:
        assert word in detail, detail
    assert row_counts(session_factory) == before


@pytest.mark.parametrize("values", [{"exec_workers": 8, "max_epochs": 16},
                                    {"model": "models/toy"}, {"model": "./models/../models/toy"},
                                    {"model": "builtin:tiny", "learning_rate": 0.01}])
def test_overrides_inside_the_policy_are_accepted(values, rel_client):
    r = rel_client.post("/runs", json=_body(name="in-policy", overrides=values))
    assert r.status_code == 201, r.text
    rel_client.post(f"/runs/{r.json()['run_id']}/cancel")


CLI_BAD_BOUNDS = {
    "exec_workers=100000": ["exec_workers", "256"],
    "max_seq_len=1000000000000": ["max_seq_len", "131072"],
    "learning_rate=1e308": ["learning_rate"],
    "exec_memory_mb=100000000000": ["exec_memory_mb", "65536"],
}


@pytest.mark.parametrize("setting", list(CLI_BAD_BOUNDS))
def test_cli_keeps_runconfig_ceilings(setting, tmp_path, rel_env, rel_session_factory):
    (tmp_path / "flip.json").write_text(json.dumps(FLIP))
    before = row_counts(rel_session_factory)
    result = CliRunner().invoke(app, ["submit", "--config", "tiny-cpu", "--queue", QUEUE,
                                      "--tasks", str(tmp_path / "flip.json"), "--set", setting],
                                env=rel_env)
    assert result.exit_code == 2, result.output
    text = " ".join((result.output + getattr(result, "stderr", "")).split())
    for word in CLI_BAD_BOUNDS[setting]:
        assert word in text, text
    assert row_counts(rel_session_factory) == before


@pytest.mark.parametrize("args", [["status", str(10**30)], ["status", "0"], ["export", str(2**31)],
                                  ["submit", "--config", "tiny-cpu", "--dataset",
                                   "arc-agi-1/training", "--limit", str(10**12)]])
def test_cli_bounds_run_ids_and_limits(args, rel_env, rel_session_factory):
    before = row_counts(rel_session_factory)
    result = CliRunner().invoke(app, args, env=rel_env)
    assert result.exit_code == 2, result.output
    text = " ".join((result.output + getattr(result, "stderr", "")).split())
    assert "Invalid value for" in text and ("'run'" in text or "--limit" in text), text
    assert row_counts(rel_session_factory) == before
