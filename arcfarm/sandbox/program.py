"""Runs one program inside its own, already confined process, and describes what happened.

The process is a fresh fork of the zygote, so `common`, numpy and every other module are as
the zygote left them: nothing an earlier program did exists here, and nothing this program does
outlives the process. The runner seeds `random` and `numpy.random` with 0 as BARC's harness
does, captures stdout/stderr with a cap, arms a SIGALRM soft timeout, and runs `transform` on a
fresh int64 copy of every input: an exception in one grid is that grid's error and the next grid
still runs; a soft timeout fails the current and remaining grids with "timeout" (the slot's
SIGKILL at the deadline ends programs that ignore it).

Nothing here is a wall: the program can rewrite this module, the validator or os.write in its
own process. It can only spoil its own result, which the executor re-checks (wire.py).
"""
from __future__ import annotations

import io
import random
import signal
import sys

import numpy as np

from arcfarm.sandbox.capture import CappedText
from arcfarm.sandbox.errors import (
    INVALID_OUTPUT,
    MEMORY,
    NO_TRANSFORM,
    SYNTAX,
    TIMEOUT,
    SoftTimeout,
    classify,
    describe,
)
from arcfarm.sandbox.validate import check_output
from arcfarm.sandbox.wire import WireResult


def _raise_soft_timeout(signum, frame):
    raise SoftTimeout()


class Outcome:
    """Per-grid results being filled in; `first_failure` gives the RunResult's error/message."""

    def __init__(self, n: int):
        self.outputs: list[np.ndarray | None] = [None] * n
        self.errors: list[str | None] = [None] * n
        self.messages: list[str | None] = [None] * n
        self.program_error: tuple[str, str] | None = None
        self.late_error: tuple[str, str] | None = None  # a failure after the grids (or with none)

    def fail_all(self, error: str, message: str) -> None:
        self.program_error = (error, message)
        self.fail_pending(error, message)

    def fail_pending(self, error: str, message: str) -> None:
        self.late_error = self.late_error or (error, message)
        for i in range(len(self.errors)):
            if self.outputs[i] is None and self.errors[i] is None:
                self.errors[i], self.messages[i] = error, message

    def first_failure(self) -> tuple[str | None, str | None]:
        if self.program_error:
            return self.program_error
        for error, message in zip(self.errors, self.messages):
            if error is not None:
                return error, message
        return self.late_error or (None, None)


def run(code: str, inputs: tuple[np.ndarray, ...], timeout_s: float, stdout_limit: int) -> WireResult:
    outcome, sink = Outcome(len(inputs)), CappedText(stdout_limit)
    sys.stdout = sys.stderr = sink
    sys.stdin = io.StringIO("")
    random.seed(0)
    np.random.seed(0)
    signal.signal(signal.SIGALRM, _raise_soft_timeout)
    try:
        try:
            signal.setitimer(signal.ITIMER_REAL, max(timeout_s, 0.001))
            _execute(code, inputs, outcome)
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
    except SoftTimeout:
        outcome.fail_pending(TIMEOUT, f"program ran longer than {timeout_s:g} s")
    except BaseException as exc:  # noqa: BLE001 - raised in our own finally, e.g. by a signal
        outcome.fail_pending(classify(exc), describe(exc))
    error, message = outcome.first_failure()
    return WireResult(error, message, outcome.errors, outcome.outputs, sink.text())


def _execute(code: str, inputs: tuple[np.ndarray, ...], outcome: Outcome) -> None:
    try:
        compiled = compile(code, "<program>", "exec", dont_inherit=True)
    except MemoryError as exc:
        return outcome.fail_all(MEMORY, describe(exc))
    except SoftTimeout:
        raise
    except BaseException as exc:  # noqa: BLE001 - SyntaxError, ValueError (NUL bytes), RecursionError
        return outcome.fail_all(SYNTAX, describe(exc))
    namespace: dict = {"__name__": "__program__"}
    try:
        exec(compiled, namespace)
    except SoftTimeout:
        raise
    except BaseException as exc:  # noqa: BLE001 - the program's own failure
        return outcome.fail_all(classify(exc), describe(exc))
    transform = namespace.get("transform")
    if not callable(transform):
        return outcome.fail_all(NO_TRANSFORM, "the program defines no function named transform")
    for i, grid in enumerate(inputs):
        try:
            grid_out, problem = check_output(transform(np.array(grid, dtype=np.int64)))
        except SoftTimeout:
            raise
        except BaseException as exc:  # noqa: BLE001 - this grid's failure; the next grid runs
            outcome.errors[i], outcome.messages[i] = classify(exc), f"grid {i}: {describe(exc)}"
            continue
        if problem:
            outcome.errors[i], outcome.messages[i] = INVALID_OUTPUT, f"grid {i}: {problem}"
        else:
            outcome.outputs[i] = grid_out
