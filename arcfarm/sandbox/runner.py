"""Runs one program inside a worker process: fresh namespace, pristine `common`, per-grid errors.

For every program the runner installs a new `common` module object (made by exec'ing the
compiled arcfarm/arc/common.py into it, prepared while the worker waits for work), seeds
`random` and `numpy.random` with 0 as BARC's harness does, captures stdout/stderr with a cap,
arms a SIGALRM soft timeout and switches the audit hook on. Each input gets a fresh int64
copy; an exception in one grid is that grid's error and the next grid still runs; a soft
timeout fails the current and remaining grids with "timeout".

Between programs it puts back what a program could have changed for the next one: the
dictionaries of numpy, random, math, builtins and the other preloaded modules, sys.path, signal
handlers, the recursion limit, numpy's error state and the warning filters. The cleanup (and the
garbage collection that runs any __del__ the program left behind) happens with the audit hook
still on. It does NOT undo state hidden in places it does not snapshot (e.g. attributes set on
classes of those modules); the executor recycles workers periodically to bound that.
"""
from __future__ import annotations

import gc
import io
import random
import signal
import sys
import threading
import types
import warnings
from collections.abc import Callable

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

SNAPSHOT_MODULES = ("builtins", "numpy", "numpy.random", "random", "math", "itertools",
                    "collections", "functools", "operator", "typing", "re", "copy", "heapq",
                    "string", "json", "os", "os.path", "scipy",
                    "scipy.ndimage", "warnings", "signal", "time")
RESET_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGUSR1, signal.SIGUSR2,
                 signal.SIGXFSZ, signal.SIGPIPE, signal.SIGCHLD)
COMPILE_CACHE_SIZE = 512


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
        self.recycle = False

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


class Runner:
    def __init__(self, common_code: types.CodeType, common_path: str, stdout_limit: int):
        self.common_code = common_code
        self.common_path = common_path
        self.stdout_limit = stdout_limit
        self._compiled: dict[str, types.CodeType] = {}
        self._next_common: types.ModuleType | None = None
        self._modules = {name: (sys.modules[name], dict(vars(sys.modules[name])))
                         for name in SNAPSHOT_MODULES if name in sys.modules}
        self._sys_path = list(sys.path)
        self._meta_path = list(sys.meta_path)
        self._signals = {s: signal.getsignal(s) for s in RESET_SIGNALS}
        self._recursion_limit = sys.getrecursionlimit()
        self._np_err = np.geterr()
        self._warning_filters = list(warnings.filters)
        self.prepare()

    def prepare(self) -> None:
        """Build the next program's pristine `common` (done while the worker is idle)."""
        module = types.ModuleType("common")
        module.__file__ = self.common_path
        exec(self.common_code, module.__dict__)
        self._next_common = module

    def _compile(self, code: str) -> types.CodeType:
        compiled = self._compiled.get(code)
        if compiled is None:
            compiled = compile(code, "<program>", "exec", dont_inherit=True)
            if len(self._compiled) >= COMPILE_CACHE_SIZE:
                self._compiled.clear()
            self._compiled[code] = compiled
        return compiled

    def _enter(self, sink: CappedText) -> None:
        if self._next_common is None:
            self.prepare()
        sys.modules["common"], self._next_common = self._next_common, None
        sys.stdout = sys.stderr = sink
        sys.stdin = io.StringIO("")
        for signum, handler in self._signals.items():
            signal.signal(signum, handler)
        signal.signal(signal.SIGALRM, _raise_soft_timeout)
        random.seed(0)
        np.random.seed(0)

    def _restore(self) -> None:
        for name, (module, snapshot) in self._modules.items():
            sys.modules[name] = module
            namespace = vars(module)
            namespace.clear()
            namespace.update(snapshot)
        sys.path[:] = self._sys_path
        sys.meta_path[:] = self._meta_path
        sys.setrecursionlimit(self._recursion_limit)
        np.seterr(**self._np_err)
        warnings.filters[:] = self._warning_filters
        warnings._filters_mutated()
        sys.modules.pop("common", None)

    def run(self, code: str, inputs: tuple[np.ndarray, ...], timeout_s: float,
            guard: Callable[[bool], None]) -> WireResult:
        outcome, sink = Outcome(len(inputs)), CappedText(self.stdout_limit)
        self._enter(sink)
        guard(True)
        try:
            try:
                signal.setitimer(signal.ITIMER_REAL, max(timeout_s, 0.001))
                self._execute(code, inputs, outcome)
            finally:
                signal.setitimer(signal.ITIMER_REAL, 0)
        except SoftTimeout:
            outcome.fail_pending(TIMEOUT, f"program ran longer than {timeout_s:g} s")
            outcome.recycle = True
        except BaseException as exc:  # raised in our own finally, e.g. by a signal
            outcome.fail_pending(classify(exc), describe(exc))
            outcome.recycle = True
        self._cleanup(outcome, guard)
        if threading.active_count() > 1:
            outcome.recycle = True  # a thread outlived its program
        error, message = outcome.first_failure()
        return WireResult(error, message, outcome.errors, outcome.outputs, sink.text(), outcome.recycle)

    def _cleanup(self, outcome: Outcome, guard: Callable[[bool], None]) -> None:
        try:
            self._restore()
            gc.collect()  # any __del__ the program left behind runs now, still under the hook
        except BaseException:  # noqa: BLE001 - program code (a __del__) may raise anything
            outcome.recycle = True
        finally:
            guard(False)
            signal.setitimer(signal.ITIMER_REAL, 0)
            sys.stdout, sys.stderr = sys.__stdout__, sys.__stderr__

    def _execute(self, code: str, inputs: tuple[np.ndarray, ...], outcome: Outcome) -> None:
        try:
            compiled = self._compile(code)
        except MemoryError as exc:
            return outcome.fail_all(MEMORY, describe(exc))
        except SoftTimeout:
            raise
        except BaseException as exc:  # SyntaxError, ValueError (NUL bytes), RecursionError, ...
            return outcome.fail_all(SYNTAX, describe(exc))
        namespace: dict = {"__name__": "__program__"}
        try:
            exec(compiled, namespace)
        except SoftTimeout:
            raise
        except BaseException as exc:
            outcome.recycle = isinstance(exc, MemoryError)
            return outcome.fail_all(classify(exc), describe(exc))
        transform = namespace.get("transform")
        if not callable(transform):
            return outcome.fail_all(NO_TRANSFORM, "the program defines no function named transform")
        try:
            self._each_grid(transform, inputs, outcome)
        finally:
            namespace.clear()

    def _each_grid(self, transform, inputs, outcome: Outcome) -> None:
        for i, grid in enumerate(inputs):
            try:
                grid_out, problem = check_output(transform(np.array(grid, dtype=np.int64)))
            except SoftTimeout:
                raise
            except BaseException as exc:
                outcome.errors[i], outcome.messages[i] = classify(exc), f"grid {i}: {describe(exc)}"
                outcome.recycle = outcome.recycle or isinstance(exc, MemoryError)
                continue
            if problem:
                outcome.errors[i], outcome.messages[i] = INVALID_OUTPUT, f"grid {i}: {problem}"
            else:
                outcome.outputs[i] = grid_out
