"""The hostile corpus (tests/sandbox/hostile/*.py) through ONE executor: every program gets a
classified error or a harmless result, the pool stays healthy, nothing is written outside the
sandbox, no secret leaks, and no program can change what the next one sees.

Each corpus file states what it may end in on its first line: `# expect: a|b` (`ok` = no error).
"""
from __future__ import annotations

import glob
import os
import uuid
from pathlib import Path

import numpy as np
import pytest

from arcfarm.sandbox import Executor, ProgramRun

pytestmark = pytest.mark.slow

HOSTILE = Path(__file__).parent / "hostile"
SECRET = f"postgresql://secret-XYZ-{uuid.uuid4().hex}@db/arcfarm"
GRIDS = (np.array([[1, 2, 0], [0, 2, 1], [3, 3, 3]]), np.array([[0, 1], [1, 0]]))
CANARIES = ("/tmp/arcfarm-hostile-*.txt", "/root/arcfarm-hostile-*.txt", "/work/main/arcfarm-hostile-*")


def _expected(path: Path) -> set[str]:
    first = path.read_text().splitlines()[0]
    assert first.startswith("# expect: "), f"{path.name} has no expect line"
    return set(first.removeprefix("# expect: ").split("|"))


def _canary_files() -> list[str]:
    return [f for pattern in CANARIES for f in glob.glob(pattern)]


@pytest.fixture(scope="module")
def executor():
    saved = os.environ.get("ARCFARM_DATABASE_URL")
    os.environ["ARCFARM_DATABASE_URL"] = SECRET  # the parent holds a secret before the pool starts
    try:
        with Executor(workers=2, timeout_s=1.0, memory_mb=512) as ex:
            yield ex
    finally:
        if saved is None:
            os.environ.pop("ARCFARM_DATABASE_URL", None)
        else:
            os.environ["ARCFARM_DATABASE_URL"] = saved


@pytest.fixture(scope="module")
def corpus_results(executor):
    for path in _canary_files():
        os.remove(path)
    files = sorted(HOSTILE.glob("*.py"))
    assert len(files) >= 30
    results = executor.run([ProgramRun(f.read_text(), GRIDS) for f in files])
    return dict(zip((f.name for f in files), results))


def test_every_program_gets_its_expected_classification(corpus_results):
    wrong = {}
    for name, result in corpus_results.items():
        got = "ok" if result.ok else result.error
        if got not in _expected(HOSTILE / name):
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


def test_no_secret_anywhere(corpus_results):
    for name, result in corpus_results.items():
        text = f"{result.stdout}\n{result.message}\n{result.grid_errors}"
        assert "secret-XYZ" not in text and "ARCFARM_" not in text, name
    printed = corpus_results["print_environ.py"].stdout
    assert "'PATH'" in printed  # it did print the environment: only the allow-list is there


def test_nothing_written_outside_the_sandbox(corpus_results):
    assert _canary_files() == []


def test_stdout_flood_is_capped(corpus_results):
    result = corpus_results["stdout_flood.py"]
    assert result.ok
    assert len(result.stdout) <= 10_000 and "truncated]" in result.stdout


def test_parent_survives_and_pool_stays_healthy(corpus_results, executor):
    assert os.getppid() > 1  # we are still here after kill_parent.py and kill_process_group.py
    check = ("from common import *\nimport numpy as np\nimport random\n"
             "def transform(grid):\n"
             "    assert Color.RED == 2 and Color.BLUE == 1, (Color.RED, Color.BLUE)\n"
             "    assert len([1, 2]) == 2 and random.randint(0, 10**9) != 4\n"
             "    g = np.zeros((3, 3), dtype=int)\n"
             "    flood_fill(g, 0, 0, Color.RED)\n"
             "    return np.flipud(g) + grid[:3, :3] * 0\n")
    results = executor.run([ProgramRun(check, (np.zeros((3, 3), dtype=np.int64),))] * 8)
    for result in results:
        assert result.ok, result.message
        assert (result.outputs[0] == 2).all()


def test_redefinitions_never_reach_the_next_program(executor):
    """Alternate a program that rewrites common, numpy and builtins with one that checks them,
    more times than there are workers, so every worker sees the sequence."""
    poison = (HOSTILE / "reassign_color.py").read_text() + "\n" + (HOSTILE / "poison_numpy.py").read_text()
    check = ("from common import *\nimport numpy as np\n"
             "def transform(grid):\n"
             "    return np.flipud(np.array([[Color.RED]]))\n")
    runs = [ProgramRun(poison if i % 2 == 0 else check, GRIDS[:1]) for i in range(12)]
    results = executor.run(runs)
    for result in results[1::2]:
        assert result.ok, result.message
        assert result.outputs[0].tolist() == [[2]]
