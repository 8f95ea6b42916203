"""Normal behaviour of the sandbox executor: per-grid errors, ordering, syntax errors, missing
transform, timeouts, pool reuse, output validation, BARC's seeding, and the checks the executor
makes on the bytes a program's process sends (wire.decode_result)."""
from __future__ import annotations

import numpy as np
import pytest

from arcfarm.sandbox import Executor, ProgramRun, RunResult
from arcfarm.sandbox.validate import check_output
from arcfarm.sandbox.wire import WireError, WireResult, decode_result, encode_result

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


def test_pool_is_reused_across_calls_and_each_program_gets_a_fresh_process(ex):
    code = "import os\nprint(os.getpid(), os.getppid())\ndef transform(grid):\n    return grid\n"
    pids, slots = [], set()
    for _ in range(3):
        for r in ex.run([ProgramRun(code, (A,))] * 6):
            pid, slot = map(int, r.stdout.split())
            pids.append(pid)
            slots.add(slot)
    assert ex.run([]) == []
    assert len(set(pids)) == 18  # a process per program
    assert len(slots) == 2  # from the same two slots every time: the pool was not rebuilt


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


def test_tempfile_and_files_in_the_programs_own_temp_dir(ex):
    """tempfile must use the program's temp dir, not the /tmp the zygote cached before TMPDIR."""
    code = ("import os, tempfile\nimport numpy as np\n"
            "def transform(grid):\n"
            "    with tempfile.TemporaryFile() as f:\n        np.save(f, grid); f.seek(0); g = np.load(f)\n"
            "    assert tempfile.gettempdir() == os.getcwd()\n"
            "    np.save('a.npy', g)\n    return np.load('a.npy')[:, ::-1]\n")
    r = run1(ex, code, inputs=(A,))
    assert r.ok, r.message
    assert r.outputs[0].tolist() == A[:, ::-1].tolist()


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


def _encoded(outputs, errors=None, error=None, message=None, stdout="") -> bytes:
    errors = errors or [None] * len(outputs)
    return encode_result(WireResult(error, message, errors, outputs, stdout))


def test_decode_result_rebuilds_and_checks_every_field():
    good = _encoded([np.array([[1, 2], [3, 9]]), None], [None, "ValueError"], None, "boom", "out")
    wire = decode_result(good, 2, 100)
    assert wire.outputs[0].tolist() == [[1, 2], [3, 9]] and wire.outputs[0].dtype == np.int64
    assert wire.outputs[1] is None and wire.grid_errors == [None, "ValueError"]
    assert wire.error == "ValueError" and wire.message == "boom" and wire.stdout == "out"
    bad_cells = good.replace(bytes([1, 2, 3, 9]), bytes([1, 2, 3, 11]))
    too_big = _encoded([np.zeros((2, 2), dtype=np.uint8)]).replace(b"\x00\x01\x02\x02", b"\x00\x01\x1f\x02")
    cases = {"grids outside 0..9": bad_cells, "wrong grid count": _encoded([None]),
             "trailing bytes": good + b"x", "truncated": good[:-3], "no header": b"\x00" + good[1:],
             "side 31": too_big, "unknown dtype": good.replace(b"\x00\x01\x02\x02", b"\x00\x07\x02\x02")}
    for why, data in cases.items():
        with pytest.raises(WireError):
            decode_result(data, 2, 100)
            pytest.fail(why)


def test_strings_from_a_program_are_capped():
    data = _encoded([None], ["E" * 500], "E" * 500, "m" * 5000, "s" * 50_000)
    wire = decode_result(data, 1, 1000)
    assert len(wire.error) == 100 and len(wire.message) == 2000 and len(wire.stdout) == 1000


def test_a_forged_result_can_only_spoil_the_programs_own_result(ex):
    forge = ("import os, struct\n"
             "def transform(grid):\n"
             "    for fd in range(3, 100):\n"
             "        try:\n"
             "            os.write(fd, b'AFR1' + struct.pack('!H', 1) + bytes([0, 1, 1, 1, 11]) + b'\\xff' * 12)\n"
             "        except OSError:\n"
             "            pass\n"
             "    os._exit(0)\n")
    forged, honest = ex.run([ProgramRun(forge, (A,)), ProgramRun("def transform(grid):\n    return grid\n", (A,))])
    assert forged.error == "killed" and "invalid result" in forged.message
    assert honest.ok and honest.outputs[0].tolist() == A.tolist()


def test_the_import_path_has_no_working_directory_entry(ex):
    """A slot works inside the program's temp dir: an empty sys.path entry there would let an
    import of the slot's load a file the program wrote (forkserver.BOOT drops it)."""
    code = "import sys\nimport numpy as np\ndef transform(grid):\n    return np.array([[int('' in sys.path) + 1]])\n"
    assert run1(ex, code, inputs=(A,)).outputs[0].tolist() == [[1]]


def test_remove_tree_takes_a_folder_its_owner_may_not_list():
    """What a slot meets when it is not root (root reads any folder): rmtree cannot list a mode-0
    folder, and its retry must not crash the slot (it did: os.open retried without flags)."""
    import os
    import shutil
    import tempfile
    from pathlib import Path

    from arcfarm.sandbox.slot import remove_tree
    base = Path(tempfile.mkdtemp(prefix="arcfarm-remove-tree-"))  # /tmp: reachable by any uid
    base.chmod(0o777)
    tree = base / "left"
    pid = os.fork()
    if pid == 0:
        code = 1
        try:
            if os.geteuid() == 0:
                os.setgid(65534)
                os.setuid(65534)
            tree.mkdir()
            (tree / "locked").mkdir(mode=0)
            (tree / "locked2").mkdir(mode=0)
            remove_tree(str(tree))
            code = 0 if not tree.exists() else 2
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    shutil.rmtree(base, ignore_errors=True)
    assert os.waitstatus_to_exitcode(status) == 0


def test_a_folder_nobody_may_list_does_not_stop_the_next_program(ex):
    left = "import os\ndef transform(grid):\n    os.mkdir('locked', 0)\n    os.mkdir('locked2', 0)\n    return grid\n"
    results = ex.run([ProgramRun(left, (A,)), ProgramRun(left, (A,)), ProgramRun("def transform(g):\n    return g\n", (B,))])
    assert [r.error for r in results] == [None, None, None]
    assert results[2].outputs[0].tolist() == B.tolist()
