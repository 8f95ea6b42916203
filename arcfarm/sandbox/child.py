"""The fresh process of one program: confine it, run the program, write the result, exit.

Forked by a slot (slot.py) for every program, so no state of one program can reach another.
The result goes to a pipe that exists for this program only; the executor reads it once, after
the process is gone, and checks every byte (wire.decode_result). If confinement fails the
program never runs: the process reports "killed" with the reason instead.
"""
from __future__ import annotations

import os

from arcfarm.sandbox import confine, guard, program
from arcfarm.sandbox.errors import KILLED, describe
from arcfarm.sandbox.wire import WireResult, encode_result

_exit = os._exit  # kept: the program may replace os._exit in its own process


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]


def main(plan: confine.Plan, prepared: confine.Prepared, request: tuple, result_fd: int,
         parent_pid: int, stdout_limit: int) -> None:
    """Runs in the forked child; never returns."""
    code, inputs, timeout_s = request
    try:
        try:
            confine.confine(plan, prepared, result_fd, parent_pid)
        except BaseException as exc:  # noqa: BLE001 - never run a program half-confined
            n = len(inputs)
            why = f"sandbox set-up failed, program not run: {describe(exc)}"
            _write_all(result_fd, encode_result(WireResult(KILLED, why, [KILLED] * n, [None] * n, "")))
            _exit(3)
        guard.install()
        result = program.run(code, inputs, timeout_s, stdout_limit)
        _write_all(result_fd, encode_result(result))
        os.close(result_fd)
    except BaseException:  # noqa: BLE001 - the executor sees a missing or broken result: "killed"
        _exit(2)
    _exit(0)
