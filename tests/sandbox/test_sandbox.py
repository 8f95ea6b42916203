"""Normal behaviour of the sandbox executor: per-grid errors, ordering, syntax errors, missing
transform, timeouts, pool reuse, output validation and BARC's seeding."""
from __future__ import annotations

import numpy as np
import pytest

from arcfarm.sandbox import Executor, ProgramRun, RunResult
from arcfarm.sandbox.validate import check_output

pytestmark = pytest.mark.slow

A = np.array([[1, 2, 0], [0, 2, 1]])
B = np.array([[5]])
C = np.array([[0, 0], [3, 3], [4, 4]])


@pytest.fixture(scope="module")
def ex():
    with Executor(workers=2, timeout_s=1.0) as executor:
        yield executor


def run1(ex: Executor, code: str, inputs=(A, B, C)) -> RunResult:
    return ex.run([ProgramRun(code, tuple(inputs))])[0]


def test_identity_and_common(ex):
    r = run1(ex, "from common import *\nimport numpy as np\n"
                 "def transform(grid):\n    return np.rot90(grid) * 0 + Color.RED\n")
    assert r.ok and r.error is None and r.message is None and r.grid_errors == [None] * 3
    assert [o.shape for o in r.outputs] == [(3, 2), (1, 1), (2, 3)]
    assert all((o == 2).all() and o.dtype == np.int64 for o in r.outputs)


def test_results_keep_order_across_many_programs(ex):
    runs = [ProgramRun(f"def transform(grid):\n    return grid * 0 + {i % 10}\n", (A,)) for i in range(50)]
    results = ex.run(runs)
    assert [int(r.outputs[0][0, 0]) for r in results] == [i % 10 for i in range(50)]


def test_pool_is_reused_across_calls(ex):
    code = "import os\ndef transform(grid):\n    return grid * 0 + os.getpid() % 7\n"
    pids = set()
    for _ in range(3):
        pids |= {int(r.outputs[0][0, 0]) for r in ex.run([ProgramRun(code, (A,))] * 6)}
    assert ex.run([]) == []
    assert len(pids) <= 2 * 2  # two workers (mod 7 may collide, never more than the workers)


def test_per_grid_error_and_the_program_continues(ex):
    r = run1(ex, "def transform(grid):\n    if grid.shape == (1, 1):\n        raise ValueError('tiny')\n"
                 "    return grid\n")
    assert r.grid_errors == [None, "ValueError", None]
    assert r.error == "ValueError" and "tiny" in r.message and "grid 1" in r.message
    assert r.outputs[0].tolist() == A.tolist() and r.outputs[1] is None and r.outputs[2].tolist() == C.tolist()


def test_each_grid_gets_a_fresh_copy(ex):
    r = run1(ex, "seen = []\ndef transform(grid):\n    grid[0, 0] = 9\n    seen.append(grid)\n"
                 "    return seen[0]\n", inputs=(A, A))
    assert r.outputs[1][0, 0] == 9 and r.outputs[1][0, 1] == 2  # program's own list kept
    assert A[0, 0] == 1  # the caller's array is untouched


def test_syntax_error_and_missing_transform(ex):
    bad, none, not_callable = ex.run([ProgramRun("def transform(grid)\n  return grid\n", (A, B)),
                                      ProgramRun("x = 1\n", (A, B)),
                                      ProgramRun("transform = 3\n", (A,))])
    assert bad.error == "syntax" and bad.grid_errors == ["syntax", "syntax"] and "SyntaxError" in bad.message
    assert none.error == "no_transform" and none.outputs == [None, None]
    assert not_callable.error == "no_transform"


def test_module_level_exception_fails_every_grid(ex):
    r = run1(ex, "raise KeyError('boom')\ndef transform(grid):\n    return grid\n")
    assert r.error == "KeyError" and r.grid_errors == ["KeyError"] * 3


def test_timeout_fails_the_remaining_grids(ex):
    r = run1(ex, "def transform(grid):\n    if grid.shape == (1, 1):\n        while True:\n            pass\n"
                 "    return grid\n")
    assert r.grid_errors == [None, "timeout", "timeout"] and r.error == "timeout"
    assert r.outputs[0] is not None


def test_hard_timeout_when_the_soft_one_is_ignored(ex):
    r = run1(ex, "import signal\nsignal.signal(signal.SIGALRM, signal.SIG_IGN)\n"
                 "def transform(grid):\n    while True:\n        pass\n")
    assert r.error == "timeout" and r.grid_errors == ["timeout"] * 3
    assert run1(ex, "def transform(grid):\n    return grid\n").ok  # the replacement works


def test_memory_error_is_classified(ex):
    r = run1(ex, "def transform(grid):\n    return bytearray(8 * 1024 ** 3)\n", inputs=(A,))
    assert r.error == "memory"


def test_stdout_is_captured(ex):
    r = run1(ex, "print('hello')\ndef transform(grid):\n    print('grid', grid.shape)\n    return grid\n",
             inputs=(A,))
    assert r.stdout == "hello\ngrid (2, 3)\n"


def test_seeded_like_barc(ex):
    code = ("import random\nimport numpy as np\n"
            "def transform(grid):\n    return np.array([[random.randint(0, 9), np.random.randint(0, 10)]])\n")
    first, second = ex.run([ProgramRun(code, (A,)), ProgramRun(code, (A,))])
    assert first.outputs[0].tolist() == second.outputs[0].tolist()
    assert "random" not in (first.message or "")  # programs that use random are not rejected


def test_output_validation_through_the_executor(ex):
    cases = {"return [[1, 2], [3, 4]]": None, "return ((1,), (2,))": None,
             "return grid.astype(np.uint8)": None, "return grid.astype(bool)": "bool",
             "return grid.astype(float)": "float", "return [[1.0]]": "non-integer",
             "return [[True]]": "non-integer", "return np.zeros((2, 31), dtype=int)": "side 31 > 30",
             "return np.zeros((2, 2, 2), dtype=int)": "not 2-D", "return [[10]]": "outside 0..9",
             "return [[-1]]": "outside 0..9", "return []": "empty", "return [['a']]": "non-integer",
             "return [[1, 2], [3]]": "ragged", "return None": "NoneType"}
    runs = [ProgramRun(f"import numpy as np\ndef transform(grid):\n    {body}\n", (A,)) for body in cases]
    for (body, problem), r in zip(cases.items(), ex.run(runs)):
        if problem is None:
            assert r.ok, (body, r.message)
            assert r.outputs[0].dtype == np.int64
        else:
            assert r.error == "invalid_output" and problem in r.message, (body, r.message)


def test_check_output_directly():
    grid, why = check_output([[np.int32(3), 4]])
    assert why is None and grid.tolist() == [[3, 4]] and grid.dtype == np.int64
    assert check_output(np.full((2, 2), np.nan))[1] == "NaN values"
    assert check_output(np.zeros((0, 3), dtype=int))[1] == "empty side"
    assert check_output([[2 ** 80]])[1] == "values outside 0..9"
