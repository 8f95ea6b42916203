"""The hostile corpus (tests/sandbox/hostile/*.py) through the strict sandbox: every program gets a
classified error or a harmless result, nothing outside the temp dirs is read or written, no secret
or planted byte reaches a result, and no program changes what a later one sees.

Each corpus file states what it may end in on its first line: `# expect: a|b` (`ok` = no error).
"""
from __future__ import annotations

import os

import numpy as np
import pytest
from sandbox_kit import (
    GRIDS,
    HOSTILE,
    MARKER,
    PRISTINE_CHECK,
    PRISTINE_OUTPUT,
    PROTECTED,
    SOLUTION_SECRET,
    canary_files,
    expected,
)

from arcfarm.sandbox import Executor, ProgramRun

pytestmark = pytest.mark.slow
CORRECT_RUNS_AFTER_EACH = 50


# Every program runs once in lean slots and once in scipy slots (a comment naming scipy sends it
# there, routing.py): both kinds of slot must hold.
SCIPY_SUFFIX = "\n# scipy\n"


@pytest.fixture(scope="module", params=["lean", "scipy"])
def kind(request) -> str:
    return request.param


def _code(text: str, kind: str) -> str:
    return text + (SCIPY_SUFFIX if kind == "scipy" else "")


@pytest.fixture(scope="module")
def executor(secret_env, planted, kind):
    with Executor(workers=2, timeout_s=1.0, memory_mb=512) as ex:
        yield ex


@pytest.fixture(scope="module")
def corpus_results(executor, kind):
    files = sorted(HOSTILE.glob("*.py"))
    assert len(files) >= 85
    results = executor.run([ProgramRun(_code(f.read_text(), kind), GRIDS) for f in files])
    return dict(zip((f.name for f in files), results))


def test_the_executor_is_strict(executor):
    assert executor.isolation.level == "strict", executor.isolation.missing
    assert {"user", "landlock", "seccomp"} <= set(executor.isolation.active)


def test_every_program_gets_its_expected_classification(corpus_results):
    wrong = {}
    for name, result in corpus_results.items():
        got = "ok" if result.ok else result.error
        if got not in expected(HOSTILE / name):
            wrong[name] = (got, result.message)
    assert not wrong


def test_harmless_results_are_valid_grids_and_failures_are_complete(corpus_results):
    for name, result in corpus_results.items():
        assert len(result.outputs) == len(result.grid_errors) == len(GRIDS), name
        for out, err in zip(result.outputs, result.grid_errors):
            assert (out is None) != (err is None), name
            if out is not None:
                assert out.dtype == np.int64 and out.ndim == 2 and out.min() >= 0 and out.max() <= 9
        if not result.ok:
            assert result.message, name


def test_no_secret_or_planted_byte_in_any_result(corpus_results, secret_env):
    needles = [*secret_env.values(), MARKER, PROTECTED, SOLUTION_SECRET, "ARCFARM_"]
    for name, result in corpus_results.items():
        text = f"{result.stdout}\n{result.message}\n{result.grid_errors}\n{[o.tolist() for o in result.outputs if o is not None]}"
        assert not any(n in text for n in needles), name
    printed = corpus_results["print_environ.py"].stdout
    assert "'PATH'" in printed  # it did print the environment: only the allow-list is there


def test_nothing_written_outside_the_temp_dirs(corpus_results, planted):
    assert canary_files() == []
    assert sorted(p.name for p in planted.iterdir()) == ["marker.txt", "open", "protected.txt", "solutions.db"]
    assert list((planted / "open").iterdir()) == []
    assert (planted / "marker.txt").read_text() == MARKER + "\n"


def test_programs_cannot_write_to_the_executors_stdout_or_stderr(capfd):
    """The zygote inherits the executor's stderr (a terminal, a worker's log); programs get /dev/null."""
    with Executor(workers=1, timeout_s=2.0) as ex:
        result = ex.run([ProgramRun((HOSTILE / "write_executor_stderr.py").read_text(), GRIDS[:1])])[0]
    assert result.ok, result.message
    out, err = capfd.readouterr()
    assert "HOSTILE-STDERR-MARKER" not in out + err


def test_stdout_flood_is_capped(corpus_results):
    result = corpus_results["stdout_flood.py"]
    assert len(result.stdout) <= 10_000
    if result.ok:
        assert "truncated]" in result.stdout


def test_the_executor_survives_and_still_runs_correct_programs(corpus_results, executor, kind):
    assert os.getppid() > 1  # we are still here after the kill attempts
    for result in executor.run([ProgramRun(_code(PRISTINE_CHECK, kind), GRIDS[:1])] * 8):
        assert result.ok, result.message
        assert result.outputs[0].tolist() == PRISTINE_OUTPUT


def test_a_correct_program_stays_correct_after_each_hostile_one(secret_env, planted, kind):
    """Through one slot of each kind (workers=1), so every correct run follows the hostile one in
    the same slot; 50 times after each program of the corpus."""
    files = sorted(HOSTILE.glob("*.py"))
    runs = []
    for f in files:
        runs.append(ProgramRun(_code(f.read_text(), kind), GRIDS[:1]))
        runs += [ProgramRun(_code(PRISTINE_CHECK, kind), GRIDS[:1])] * CORRECT_RUNS_AFTER_EACH
    with Executor(workers=1, timeout_s=1.0, memory_mb=512) as ex:
        results = ex.run(runs)
    step = CORRECT_RUNS_AFTER_EACH + 1
    for i, f in enumerate(files):
        assert "sandbox slot" not in (results[i * step].message or ""), (f.name, results[i * step].message)
        for result in results[i * step + 1:(i + 1) * step]:
            assert result.ok, (f.name, result.message)
            assert result.outputs[0].tolist() == PRISTINE_OUTPUT, f.name
