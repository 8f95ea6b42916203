"""`arcfarm exec` and `arcfarm bench exec --quick` through Typer's CliRunner."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from arcfarm.cli.main import app

pytestmark = pytest.mark.slow

TASK = {"train": [{"input": [[1, 0], [0, 0]], "output": [[0, 1], [0, 0]]},
                  {"input": [[2, 2, 0]], "output": [[0, 2, 2]]}],
        "test": [{"input": [[3, 0, 0]], "output": [[0, 0, 3]]}]}
FLIP = "import numpy as np\ndef transform(grid):\n    return np.fliplr(grid)\n"
IDENTITY = "def transform(grid):\n    return grid\n"
BROKEN = "def transform(grid):\n    raise ValueError('nope')\n"


@pytest.fixture()
def files(tmp_path):
    task = tmp_path / "flip_task.json"
    task.write_text(json.dumps(TASK))
    paths = []
    for name, code in (("flip", FLIP), ("identity", IDENTITY), ("broken", BROKEN)):
        path = tmp_path / f"{name}.py"
        path.write_text(code)
        paths.append(str(path))
    return str(task), paths


def test_exec_json_reports_each_program_in_order(files):
    task, programs = files
    result = CliRunner().invoke(app, ["exec", task, *programs, "--json", "--timeout", "2"])
    assert result.exit_code == 0, result.output
    flip, identity, broken = json.loads(result.stdout)
    assert [r["program"] for r in (flip, identity, broken)] == programs
    assert flip["error"] is None and flip["train_correct"] is True and flip["test_correct"] is True
    assert flip["train_outputs"] == [[[0, 1], [0, 0]], [[0, 2, 2]]] and flip["test_outputs"] == [[[0, 0, 3]]]
    assert identity["error"] is None and identity["train_correct"] is False and identity["test_correct"] is False
    assert broken["error"] == "ValueError" and "nope" in broken["message"]
    assert broken["train_outputs"] == [None, None] and broken["train_correct"] is False
    assert all(r["isolation"]["level"] == "strict" for r in (flip, identity, broken))


def test_exec_without_test_outputs_gives_null_test_correct(tmp_path, files):
    _, programs = files
    task = tmp_path / "no_solutions.json"
    task.write_text(json.dumps({"train": TASK["train"], "test": [{"input": [[1]]}]}))
    result = CliRunner().invoke(app, ["exec", str(task), programs[0], "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)[0]["test_correct"] is None


def test_exec_table_output(files):
    task, programs = files
    result = CliRunner().invoke(app, ["exec", task, *programs])
    assert result.exit_code == 0 and "ValueError" in result.stdout and "yes" in result.stdout
    assert "sandbox: strict" in result.stdout


def test_the_table_shows_a_programs_escape_sequences_inert(tmp_path, files):
    task, _ = files
    program = tmp_path / "escapes.py"
    program.write_text("def transform(grid):\n    raise ValueError('\\x1b[2J\\x1b]52;c;eA==\\x07 [red]x[/red]')\n")
    result = CliRunner().invoke(app, ["exec", task, str(program)])
    assert result.exit_code == 0, result.output
    assert "\x1b" not in result.stdout and "\x07" not in result.stdout
    assert "\\x1b[2J" in result.stdout and "[red]x" in result.stdout  # shown, escaped, not styled


HOSTILE = Path(__file__).parents[1] / "sandbox" / "hostile"


def test_a_program_cannot_read_the_task_file_it_is_scored_on(files, tmp_path):
    """The program looks for the task file (the executor's command line, /tmp) to return the
    stored test output; it must find nothing and score nothing."""
    task, _ = files
    thief = HOSTILE / "task_file_via_cmdline.py"
    result = CliRunner().invoke(app, ["exec", task, str(thief), "--json"])
    record = json.loads(result.stdout)[0]
    assert record["test_correct"] is False and record["test_outputs"] == [None]
    assert record["error"] in ("PermissionError", "FileNotFoundError", "ValueError")


def test_one_worker_runs_hostile_then_correct_programs_in_one_slot(files, tmp_path):
    """--workers 1: the contaminating programs run first in the only slot; the correct program
    after them still scores."""
    task, programs = files
    hostile = [str(HOSTILE / name) for name in ("contaminate_common_and_numpy.py", "poison_numpy.py",
                                                "contaminate_gc_timers_threads.py", "forged_result_frames.py")]
    result = CliRunner().invoke(app, ["exec", task, *hostile, programs[0], programs[0], "--json", "--workers", "1"])
    assert result.exit_code == 0, result.output
    *_, flip1, flip2 = json.loads(result.stdout)
    for flip in (flip1, flip2):
        assert flip["error"] is None and flip["train_correct"] is True and flip["test_correct"] is True


def test_an_unknown_sandbox_mode_is_a_usage_error(files, monkeypatch):
    task, programs = files
    monkeypatch.setenv("ARCFARM_SANDBOX", "nonsense")
    result = CliRunner().invoke(app, ["exec", task, programs[0], "--json"])
    assert result.exit_code == 2 and "ARCFARM_SANDBOX" in result.output


@pytest.mark.parametrize("content, needle", [(None, "cannot read"), ("{not json", "not valid JSON"),
                                             ('{"train": [], "test": 3}', "invalid task")])
def test_bad_task_file_is_a_usage_error(tmp_path, files, content, needle):
    task = tmp_path / "bad.json"
    if content is not None:
        task.write_text(content)
    result = CliRunner().invoke(app, ["exec", str(task), files[1][0], "--json"])
    assert result.exit_code == 2
    assert needle in result.output and "bad.json" in result.output


def test_bench_exec_quick_outputs_the_documented_keys(tmp_path):
    out = tmp_path / "exec.json"
    result = CliRunner().invoke(app, ["bench", "exec", "--quick", "--json", "--out", str(out)])
    assert result.exit_code == 0, result.output
    data = json.loads(out.read_text())
    for key in ("pool_start_s", "trivial_runs_per_s_per_core", "mix_runs_per_s", "baseline_pool_runs_per_s",
                "mix_ratio_vs_pool", "timeout_overrun_s", "cores", "machine"):
        assert key in data, key
    assert data["trivial_runs_per_s_per_core"] > 0 and data["mix_runs_per_s"] > 0
    assert data["trivial_lean_slot_runs_per_s_per_core"] > 0 and data["trivial_scipy_slot_runs_per_s_per_core"] > 0
    assert 0 <= data["timeout_overrun_s"] < 5
    # the ceilings of a fresh process per program, from the same run's fork costs
    assert 0 < data["mix_ratio_ceiling"] < 1 and data["trivial_ceiling_runs_per_s_per_core"] > 0
    assert {"platform", "cpu_model", "git_commit", "python", "numpy"} <= set(data["machine"])
