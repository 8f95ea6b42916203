"""The fork server: a clean-environment Python process that preloads everything and forks workers.

The executor starts it with subprocess (never by forking itself, so a parent that holds CUDA,
threads or secrets is never copied), passing an environment built from an allow-list
(limits.sandbox_env). It imports numpy, scipy.ndimage and the stdlib modules BARC programs use,
compiles arcfarm/arc/common.py once and runs it once (pulling in whatever it imports), then
waits on a Unix socket. Each request carries one file descriptor (the worker's end of a
socketpair, sent with SCM_RIGHTS); the server forks a worker onto it and replies with the pid.

When the executor's socket closes (the executor closed or died) the server SIGKILLs the
workers it still has and exits, so nothing is orphaned. It reaps finished workers before each
fork, so a pid the executor may kill is never reused while the executor still knows it.
"""
from __future__ import annotations

import json
import os
import signal
import socket
import struct
import sys

PRELOAD = ("numpy", "numpy.typing", "scipy.ndimage", "random", "math", "itertools", "collections",
           "functools", "operator", "typing", "re", "copy", "heapq", "string", "dataclasses",
           "enum", "traceback", "warnings", "threading", "json")


def _reap(children: set[int]) -> None:
    for pid in list(children):
        try:
            done, _ = os.waitpid(pid, os.WNOHANG)
        except ChildProcessError:
            done = pid
        if done:
            children.discard(pid)


def _kill_all(children: set[int]) -> None:
    for pid in children:
        for kill in (os.killpg, os.kill):
            try:
                kill(pid, signal.SIGKILL)
            except OSError:
                pass


def _load(config: dict):
    import importlib
    import types
    for name in PRELOAD:
        importlib.import_module(name)
    from arcfarm.sandbox import worker  # noqa: F401 - preload the worker's own imports
    with open(config["common_path"], encoding="utf-8") as f:
        code = compile(f.read(), config["common_path"], "exec", dont_inherit=True)
    exec(code, types.ModuleType("common").__dict__)
    return code, worker


def main(ctrl_fd: int, config: dict) -> None:
    ctrl = socket.socket(fileno=ctrl_fd)
    try:
        common_code, worker = _load(config)
    except BaseException as exc:  # noqa: BLE001 - reported to the executor, which raises
        ctrl.sendall(b"E" + f"{type(exc).__name__}: {exc}".encode()[:2000])
        return
    ctrl.sendall(b"R")
    children: set[int] = set()
    while True:
        msg, fds, _, _ = socket.recv_fds(ctrl, 16, 1)
        if not msg or not fds:
            break
        _reap(children)
        pid = os.fork()
        if pid == 0:
            ctrl.close()
            worker.main(fds[0], common_code, config["common_path"], config["memory_mb"],
                        config["stdout_limit"])
        os.close(fds[0])
        children.add(pid)
        ctrl.sendall(struct.pack("!q", pid))
    _kill_all(children)


if __name__ == "__main__":
    main(int(sys.argv[1]), json.loads(sys.argv[2]))
