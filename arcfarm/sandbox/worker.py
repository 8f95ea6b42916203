"""The sandbox worker process: sets itself up as a jail, then runs programs until its pipe closes.

A worker is forked from the fork server (zygote.py), which already holds numpy, scipy and the
compiled `common` module, so it starts in milliseconds. Set-up, before any program runs: its
own session (the parent can kill it together with anything it might spawn), stdin/stdout/
stderr on /dev/null, a private temp directory as cwd and HOME, the scrubbed environment,
rlimits (limits.py), and the audit hook (guard.py), switched on only while a program runs.

Protocol (wire.py): the worker first sends a hello frame `{"pid", "tmp"}`, then answers each
request frame with one result frame. The temp directory is emptied after every program so
nothing carries over; the parent removes it when it retires the worker.
"""
from __future__ import annotations

import gc
import json
import os
import shutil
import signal
import sys
import tempfile
import types

from arcfarm.sandbox import guard, limits
from arcfarm.sandbox.errors import KILLED, describe
from arcfarm.sandbox.runner import Runner
from arcfarm.sandbox.wire import WireResult, decode_request, encode_result, read_frame, write_frame


def _detach_stdio() -> None:
    null = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(null, fd)
    os.close(null)


def _empty_dir(path: str) -> None:
    for name in os.listdir(path):
        full = os.path.join(path, name)
        if os.path.isdir(full) and not os.path.islink(full):
            shutil.rmtree(full, ignore_errors=True)
        else:
            try:
                os.unlink(full)
            except OSError:
                pass


def main(fd: int, common_code: types.CodeType, common_path: str, memory_mb: int,
         stdout_limit: int) -> None:
    """Entry point in the freshly forked child; never returns (os._exit)."""
    code = 0
    try:
        os.setsid()
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        _detach_stdio()
        tmp = tempfile.mkdtemp(prefix="arcfarm-sandbox-")
        os.chdir(tmp)
        limits.scrub_environ(tmp)
        if "" in sys.path:
            sys.path.remove("")  # cwd on sys.path would let one program plant modules for the next
        limits.apply_rlimits(memory_mb)
        runner = Runner(common_code, common_path, stdout_limit)
        switch = guard.install(tmp)
        gc.freeze()  # later collections only walk what programs create: fast
        write_frame(fd, json.dumps({"pid": os.getpid(), "tmp": tmp}).encode())
        _serve(fd, runner, switch, tmp)
    except BaseException:  # noqa: BLE001 - the parent sees EOF and reports "killed"
        code = 1
    os._exit(code)


def _serve(fd: int, runner: Runner, switch, tmp: str) -> None:
    while True:
        data = read_frame(fd)
        if data is None:
            shutil.rmtree(tmp, ignore_errors=True)
            return
        code, inputs, timeout_s = decode_request(data)
        try:
            result = runner.run(code, inputs, timeout_s, switch)
            payload = encode_result(result)
        except BaseException as exc:  # noqa: BLE001 - last line of defence: answer anyway
            switch(False)
            n = len(inputs)
            payload = encode_result(WireResult(KILLED, describe(exc), [KILLED] * n, [None] * n, "", True))
        write_frame(fd, payload)
        if os.listdir(tmp):
            _empty_dir(tmp)
        runner.prepare()
