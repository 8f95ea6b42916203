"""The zygote: a clean Python process that preloads everything once and forks the slots.

The executor starts it with subprocess (never by forking itself, so a parent that holds CUDA,
threads or secrets is never copied), with an environment built from an allow-list
(limits.sandbox_env), inside bubblewrap when it can (jail.py). It imports numpy and the stdlib
modules BARC programs use, runs arcfarm/arc/common.py once into the module `common`, decides and
probes the isolation plan (layers.py), reports it, then waits on its socket: each request
carries one descriptor (the slot's end of a socketpair, SCM_RIGHTS) and the zygote forks a slot
(slot.py) onto it; a request b"F" asks for a slot that imports scipy.ndimage first. Every
program process is a fork of a slot, so it starts from this pristine state.

When the executor's socket closes the zygote SIGKILLs its slots (whose program processes die
with them) and exits, so nothing is orphaned.
"""
from __future__ import annotations

import gc
import json
import os
import shutil
import signal
import socket
import sys
import tempfile

# scipy.ndimage is half of the zygote's anonymous memory (16 of 33 MB) and most of its mappings,
# which every fork copies and every exit tears down, but importing it in a program process takes
# ~200 ms. Measured in one run, lazy (not preloaded) against preloaded: trivial programs 5.1 vs
# 6.8 ms of wall per run, the mix (`common`'s object functions use scipy) 53.6 vs 7.9 ms. So the
# zygote stays lean and the slots that run programs needing scipy load it (SCIPY_SLOT,
# routing.py).
PRELOAD = ("numpy", "numpy.typing", "random", "math", "itertools", "collections",
           "functools", "operator", "typing", "re", "copy", "heapq", "string", "dataclasses",
           "enum", "traceback", "warnings", "threading", "json", "ctypes", "landlockpy", "pyseccomp")
SCIPY_SLOT = ("scipy.ndimage",)  # what a slot asked for with b"F" loads before its first program


def _load(config: dict) -> None:
    import importlib
    import types
    for name in PRELOAD:
        try:
            importlib.import_module(name)
        except ImportError:
            if name not in ("landlockpy", "pyseccomp"):  # those are reported as missing layers
                raise
    from arcfarm.sandbox import child  # noqa: F401 - the program process's own imports
    path = config["common_path"]
    with open(path, encoding="utf-8") as f:
        code = compile(f.read(), path, "exec", dont_inherit=True)
    common = types.ModuleType("common")
    common.__file__ = path
    exec(code, common.__dict__)
    sys.modules["common"] = common
    import random
    import time

    import numpy as np
    time.localtime()  # reads the time zone now, while files are readable
    random.seed(0)
    np.random.seed(0)


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
        try:
            os.kill(pid, signal.SIGKILL)
        except OSError:
            pass
    for pid in children:
        try:
            os.waitpid(pid, 0)
        except ChildProcessError:
            pass


def _send(ctrl: socket.socket, obj: dict) -> None:
    from arcfarm.sandbox.wire import frame
    ctrl.sendall(frame(json.dumps(obj).encode()))


def main(ctrl_fd: int, config: dict) -> None:
    ctrl = socket.socket(fileno=ctrl_fd)
    tmp_root = tempfile.mkdtemp(prefix="arcfarm-sandbox-")
    os.chmod(tmp_root, 0o711)  # the sandbox uid may enter (its own dirs), not list
    try:
        _load(config)
        from arcfarm.sandbox import layers, slot
        plan, isolation = layers.prepare(set(config["layers"]), config["memory_mb"],
                                         config["package_root"], config["jail"],
                                         tuple(config["ids"]), tmp_root)
    except BaseException as exc:  # noqa: BLE001 - reported to the executor, which raises
        _send(ctrl, {"error": f"{type(exc).__name__}: {exc}"[:2000]})
        shutil.rmtree(tmp_root, ignore_errors=True)
        return
    # Program processes then never touch the preloaded objects' GC headers: a full collection in
    # one cost 41.7 ms and 3405 copy-on-write faults without this, 4.9 ms and 381 faults with it.
    gc.freeze()
    _send(ctrl, {"isolation": isolation.to_json()})
    children: set[int] = set()
    zygote_pid = os.getpid()
    try:
        while True:
            msg, fds, _, _ = socket.recv_fds(ctrl, 1, 1)
            if not msg or not fds:
                break
            _reap(children)
            pid = os.fork()
            if pid == 0:
                ctrl.close()
                slot.main(fds[0], plan, tmp_root, config["grace_s"], config["stdout_limit"], zygote_pid,
                          preload=SCIPY_SLOT if msg == b"F" else ())
            os.close(fds[0])
            children.add(pid)
    finally:
        _kill_all(children)
        slot.remove_tree(tmp_root)


if __name__ == "__main__":
    main(int(sys.argv[1]), json.loads(sys.argv[2]))
