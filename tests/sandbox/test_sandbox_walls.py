"""Each wall of the sandbox alone: with only that layer on (weak mode, `layers=`), an attack it
is meant to stop fails; with no layer at all the same program gets through. So every test here
fails if its wall is removed, even though in strict mode the walls overlap."""
from __future__ import annotations

import os
import socket
import threading

import numpy as np
import pytest
from sandbox_kit import MARKER

from arcfarm.sandbox import Executor, ProgramRun

pytestmark = pytest.mark.slow
GRID = (np.array([[1]]),)
_executors: dict[frozenset, Executor] = {}


@pytest.fixture(scope="module", autouse=True)
def _close_executors():
    yield
    for ex in _executors.values():
        ex.close()


def run(layers: set[str], code: str):
    key = frozenset(layers)
    if key not in _executors:
        _executors[key] = Executor(workers=1, timeout_s=5.0, sandbox="weak", layers=layers)
    return _executors[key].run([ProgramRun(code, GRID)])[0]


# Every program first switches the audit hook off (it is no wall), so the kernel answers alone.
HOOK_OFF = """import os, socket, sys
for m in list(sys.modules):
    if m.endswith('sandbox.guard'):
        sys.modules[m].FORBIDDEN_EVENTS = frozenset()
        sys.modules[m].FORBIDDEN_PREFIXES = ()
"""


def program(body: str) -> str:
    """A program whose transform runs `body` (indented) then returns the grid."""
    lines = "\n".join("    " + line for line in body.strip().splitlines())
    return f"{HOOK_OFF}def transform(grid):\n{lines}\n    return grid\n"


@pytest.fixture(scope="module")
def listener():
    """A TCP listener in the test's own network namespace, and the connections it accepted."""
    server = socket.create_server(("127.0.0.1", 0))
    accepted = []

    def accept():
        while True:
            try:
                conn, _ = server.accept()
            except OSError:
                return
            accepted.append(conn)

    threading.Thread(target=accept, daemon=True).start()
    yield server.getsockname()[1], accepted
    server.close()


READ_MARKER = "print(open('/tmp/arcfarm-hostile-planted/marker.txt').read())"
WRITE_OPEN_DIR = "open('/tmp/arcfarm-hostile-planted/open/written.txt', 'w').write('x')"
SIGNAL_EXECUTOR = f"os.kill({os.getpid()}, 0)"


def connect(port: int) -> str:
    return f"socket.create_connection(('127.0.0.1', {port}), timeout=2).close()"


def test_with_no_layer_every_attack_gets_through(planted, listener):
    """The control: what each wall below stops does work without walls."""
    port, accepted = listener
    before = len(accepted)
    result = run(set(), program("\n".join([READ_MARKER, WRITE_OPEN_DIR, SIGNAL_EXECUTOR, connect(port),
                                           "pid = os.fork()\nif pid == 0:\n    os._exit(0)\nos.waitpid(pid, 0)"])))
    assert result.ok, result.message
    assert MARKER in result.stdout and len(accepted) == before + 1
    os.remove(planted / "open" / "written.txt")


def test_landlock_alone_stops_reads_writes_tcp_and_signals_outside(planted, listener):
    port, accepted = listener
    before = len(accepted)
    for attack in (READ_MARKER, WRITE_OPEN_DIR, connect(port), SIGNAL_EXECUTOR,
                   "print(open('/proc/self/environ').read())", "os.listdir('/proc')"):
        result = run({"landlock"}, program(attack))
        assert result.error == "PermissionError", (attack, result.error, result.message)
    assert len(accepted) == before and list((planted / "open").iterdir()) == []
    assert run({"landlock"}, program("open('inside.txt', 'w').write('x')\nos.rename('inside.txt', 'b.txt')")).ok


def test_seccomp_alone_stops_processes_sockets_signals_and_priorities(listener):
    port, accepted = listener
    before = len(accepted)
    attacks = ["os.fork()", "import _socket\n_socket.socket()", connect(port),
               "import _socket\n_socket.socketpair()", SIGNAL_EXECUTOR,
               f"os.setpriority(os.PRIO_PROCESS, {os.getpid()}, 0)", f"os.sched_setaffinity({os.getpid()}, {{0}})",
               "import ctypes\nif ctypes.CDLL(None, use_errno=True).ptrace(0x4206, os.getppid(), 0, 0) != 0:\n"
               "    raise PermissionError(ctypes.get_errno(), 'ptrace')",
               "import ctypes\nif ctypes.CDLL(None, use_errno=True).unshare(0x40000000) != 0:\n"
               "    raise PermissionError(ctypes.get_errno(), 'unshare')"]
    for attack in attacks:
        result = run({"seccomp"}, program(attack))
        assert result.error == "PermissionError", (attack, result.error, result.message)
    assert len(accepted) == before


def test_the_audit_hook_gives_a_clear_message_where_it_sees_the_call():
    result = run({"seccomp"}, "import os\ndef transform(grid):\n    os.fork()\n")
    assert result.error == "SandboxViolation" and "os.fork is not allowed" in result.message


@pytest.mark.skipif(os.geteuid() != 0, reason="the uid switch happens only when the executor is root")
def test_the_sandbox_uid_alone_stops_reading_and_signalling_root_processes():
    # With the namespaces layer, because the Python runtime may sit under a private home (e.g.
    # pyenv under /root) that the sandbox uid can reach only through the jail's view.
    as_root = run({"namespaces"}, program("print(os.getuid())\nprint(open('/proc/1/environ').read())\nos.kill(1, 0)"))
    assert as_root.ok and as_root.stdout.startswith("0\n")
    for attack in ("print(open('/proc/1/environ').read())", "os.kill(1, 0)", "os.setuid(0)"):
        result = run({"namespaces", "user"}, program(attack))
        assert result.error == "PermissionError", (attack, result.message)
    assert run({"namespaces", "user"}, program("assert os.getuid() == os.geteuid() == 65534\n"
                                              "assert os.getgroups() == []")).ok


@pytest.mark.skipif(os.geteuid() != 0, reason="bubblewrap runs the zygote only as root")
def test_namespaces_alone_hide_the_files_processes_and_network_of_the_host(planted, listener):
    port, accepted = listener
    before = len(accepted)
    assert run({"namespaces"}, program(READ_MARKER)).error == "FileNotFoundError"
    assert run({"namespaces"}, program(SIGNAL_EXECUTOR)).error == "ProcessLookupError"
    # its own network namespace: the loopback there has no listener
    assert run({"namespaces"}, program(connect(port))).error in ("ConnectionRefusedError", "OSError")
    assert len(accepted) == before


def test_no_new_privs_is_set_even_with_no_layer():
    result = run(set(), program("print([l for l in open('/proc/self/status') if l.startswith('NoNewPrivs')])"))
    assert "NoNewPrivs:\\t1" in result.stdout


def test_every_program_runs_in_a_fresh_process():
    ex = _executors.get(frozenset()) or Executor(workers=1, timeout_s=5.0, sandbox="weak", layers=set())
    _executors[frozenset()] = ex
    code = "import os\nprint(os.getpid())\ndef transform(grid):\n    return grid\n"
    pids = [int(r.stdout) for r in ex.run([ProgramRun(code, GRID)] * 20)]
    assert len(set(pids)) == 20
