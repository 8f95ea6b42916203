"""The sandbox executor: runs generated programs, each in a fresh, kernel-confined process.

    with Executor(workers=None, timeout_s=2.0, memory_mb=1024) as ex:
        results = ex.run([ProgramRun(code, inputs), ...])   # order kept, one RunResult each
        ex.isolation.level                                  # "strict" (or "weak", if allowed)

Processes: this one (it may hold CUDA, threads and secrets; it never forks) starts a zygote
(zygote.py, clean environment, bubblewrap when possible) that preloads numpy and `common` and
forks two slots per worker (slot.py): a lean one, and one that loads scipy first. A program
runs in a slot of the kind its text asks for (routing.py: fork and exit of a lean process cost
a third as much), and at most `workers` programs run at once. A slot forks a fresh process for
every program (child.py), which confines itself (confine.py: Landlock, sandbox uid, seccomp,
rlimits) before the program's first byte runs, and is killed at `timeout_s + grace_s`.

For each program the executor makes a new pipe, hands its write end to the slot with the
request, and reads the pipe once, after the slot says the process has ended. The bytes are
parsed and checked here (wire.decode_result): a program can only spoil its own result. A process
that ended without a valid result gives "killed"; one killed at the deadline "timeout". Every
failure is a classified RunResult; `run` never raises because of a program.

If a required layer (layers.py) is missing the constructor raises SandboxUnavailable, naming
it, unless `sandbox="weak"` or ARCFARM_SANDBOX=weak allows running without it. `layers` picks a
subset of the layers (tests use it to check each wall alone; leaving out a required one needs
weak mode). Not thread-safe: one `run` at a time per Executor (a lock enforces it).
"""
from __future__ import annotations

import fcntl
import os
import socket
import threading
import time
from collections import deque
from collections.abc import Iterable, Sequence
from multiprocessing.connection import wait
from pathlib import Path

from arcfarm.sandbox import layers as layer_policy
from arcfarm.sandbox import routing
from arcfarm.sandbox.errors import KILLED, TIMEOUT, SandboxUnavailable
from arcfarm.sandbox.forkserver import ForkServer
from arcfarm.sandbox.interface import ProgramRun, RunResult
from arcfarm.sandbox.layers import Isolation
from arcfarm.sandbox.slot import READY
from arcfarm.sandbox.wire import (
    MAX_RESULT_BYTES,
    WireError,
    decode_result,
    decode_status,
    encode_request,
    frame,
    read_frame,
)

DEFAULT_COMMON = str(Path(__file__).resolve().parents[1] / "arc" / "common.py")
F_SETPIPE_SZ = 1031
SLOT_SLACK_S = 10.0  # a slot that has not answered this long after its program's deadline is hung
SLOT_START_TIMEOUT_S = 60.0  # a scipy slot imports scipy (~0.2 s alone; many at once on few cores)
MAX_RESTARTS = 3  # restarts in a row without one program finishing: the sandbox itself is broken


class _Slot:
    def __init__(self, sock: socket.socket, scipy: bool):
        self.sock, self.scipy = sock, scipy
        self.job: int | None = None  # index into the current run() batch
        self.pipe: int | None = None  # read end of the running program's result pipe
        self.n_inputs = 0
        self.deadline = float("inf")

    def close(self) -> None:
        self.sock.close()
        if self.pipe is not None:
            os.close(self.pipe)
            self.pipe = None


class Executor:
    def __init__(self, workers: int | None = None, timeout_s: float = 2.0, memory_mb: int = 1024, *,
                 common_path: str | None = None, stdout_limit: int = 10_000, grace_s: float = 0.1,
                 sandbox: str | None = None, layers: Iterable[str] | None = None):
        self.n_workers = max(1, workers or self.default_workers())
        self.timeout_s, self.grace_s, self.stdout_limit = timeout_s, grace_s, stdout_limit
        self.mode = layer_policy.mode_from_env(sandbox)
        wanted = set(layer_policy.ALL_LAYERS if layers is None else layers)
        unknown = wanted - set(layer_policy.ALL_LAYERS)
        if unknown:
            raise ValueError(f"unknown sandbox layers {sorted(unknown)}; known: {layer_policy.ALL_LAYERS}")
        if self.mode == "strict" and not set(layer_policy.REQUIRED) <= wanted:
            raise ValueError("leaving out a required sandbox layer needs sandbox='weak'")
        self._config = {"common_path": common_path or DEFAULT_COMMON, "memory_mb": memory_mb,
                        "stdout_limit": stdout_limit, "grace_s": grace_s, "layers": sorted(wanted),
                        "ids": list(layer_policy.sandbox_ids())}
        self._scipy_names = routing.scipy_functions(self._config["common_path"])
        self._lock = threading.Lock()
        self._server: ForkServer | None = None
        self._slots: list[_Slot] = []
        self._restarts = 0
        self._start()

    @staticmethod
    def default_workers() -> int:
        return os.cpu_count() or 1

    @property
    def isolation(self) -> Isolation:
        return self._isolation

    def __enter__(self) -> Executor:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # --- pool lifecycle -----------------------------------------------------------------------
    def _start(self) -> None:
        self._server = ForkServer(self._config)
        self._isolation = self._server.isolation
        try:
            layer_policy.enforce(self._isolation, self.mode)
        except SandboxUnavailable:
            self.close()
            raise
        try:
            self._slots = [_Slot(self._server.fork_slot(scipy), scipy)
                           for scipy in (False, True) for _ in range(self.n_workers)]
            _wait_ready(self._slots)
        except BaseException:
            self.close()
            raise

    def _restart(self, pending: deque) -> None:
        """The zygote or a slot is gone or hung: start everything anew (rare). Programs still
        running in other slots are put back in the queue. Raises RuntimeError when restarting
        does not help (no program finished since the last MAX_RESTARTS restarts)."""
        self._restarts += 1
        if self._restarts > MAX_RESTARTS:
            raise RuntimeError(f"the sandbox failed {self._restarts} times in a row without running a program")
        for slot in self._slots:
            if slot.job is not None:
                pending.appendleft(slot.job)
            slot.close()
        self._slots = []
        if self._server is not None:
            self._server.close()
        self._start()

    # --- running ------------------------------------------------------------------------------
    def run(self, runs: Sequence[ProgramRun]) -> list[RunResult]:
        """Run every program on its inputs; results in the same order. Never raises for a program."""
        with self._lock:
            if not self._slots:
                raise RuntimeError("the executor is closed (or its last restart failed)")
            # Encoded up front: inputs that cannot be sent are the caller's bug and raise here.
            payloads = [frame(encode_request(r.code, r.inputs, self.timeout_s)) for r in runs]
            scipy = [routing.needs_scipy(r.code, self._scipy_names) for r in runs]
            results: list[RunResult | None] = [None] * len(runs)
            pending = deque(range(len(runs)))
            started = [0.0] * len(runs)
            while pending or any(s.job is not None for s in self._slots):
                self._dispatch(runs, payloads, scipy, pending, started)
                self._collect(results, started, pending)
            return results  # type: ignore[return-value]

    def _dispatch(self, runs: Sequence[ProgramRun], payloads: list[bytes], scipy: list[bool],
                  pending: deque, started: list[float]) -> None:
        # With fewer than n_workers busy, each kind has a free slot (there are n_workers of each).
        while pending and sum(s.job is not None for s in self._slots) < self.n_workers:
            index = pending[0]
            slot = next(s for s in self._slots if s.job is None and s.scipy == scipy[index])
            pending.popleft()
            read_end, write_end = os.pipe2(os.O_CLOEXEC)
            try:
                fcntl.fcntl(write_end, F_SETPIPE_SZ, MAX_RESULT_BYTES)
            except OSError:
                pass  # a smaller pipe: a large result then blocks and times out, loudly
            try:
                socket.send_fds(slot.sock, [b"P"], [write_end])
                slot.sock.sendall(payloads[index])
            except OSError:  # the slot died while idle: put the program back, replace everything
                os.close(read_end)
                pending.appendleft(index)
                self._restart(pending)
                return
            finally:
                os.close(write_end)
            slot.job, slot.pipe, slot.n_inputs = index, read_end, len(runs[index].inputs)
            started[index] = time.monotonic()
            slot.deadline = started[index] + self.timeout_s + self.grace_s + SLOT_SLACK_S

    def _collect(self, results: list, started: list[float], pending: deque) -> None:
        busy = {s.sock: s for s in self._slots if s.job is not None}
        if not busy:
            return
        nearest = min(s.deadline for s in busy.values())
        for sock in wait(list(busy), timeout=max(0.0, nearest - time.monotonic())):
            if not self._on_status(busy[sock], results, started):
                return self._restart(pending)
        now = time.monotonic()
        for slot in self._slots:
            if slot.job is not None and slot.deadline <= now:
                results[slot.job] = RunResult.failed(slot.n_inputs, KILLED, "the sandbox slot hung; restarted",
                                                     now - started[slot.job])
                slot.job = None
                return self._restart(pending)

    def _on_status(self, slot: _Slot, results: list, started: list[float]) -> bool:
        """Record the slot's finished program; False if the slot itself is gone."""
        index, n = slot.job, slot.n_inputs
        try:
            status = decode_status(read_frame(slot.sock.fileno()) or b"null")
        except (OSError, ValueError):
            status = None
        slot.job = None
        if not isinstance(status, dict):
            results[index] = RunResult.failed(n, KILLED, "the sandbox slot died", time.monotonic() - started[index])
            return False
        data = _read_once(slot.pipe)
        os.close(slot.pipe)
        slot.pipe = None
        results[index] = self._result(status, data, n)
        self._restarts = 0
        return True

    def _result(self, status: dict, data: bytes, n: int) -> RunResult:
        seconds = float(status["seconds"])
        if status["timed_out"]:
            return RunResult.failed(n, TIMEOUT, f"program ran longer than {self.timeout_s:g} s (killed)", seconds)
        try:
            wire = decode_result(data, n, self.stdout_limit)
        except WireError as exc:
            how = (f"signal {status['signal']}" if status["signal"] is not None else f"exit code {status['exit']}")
            why = ("the program's process ended without a result" if not data
                   else f"the program's process sent an invalid result ({exc})")
            return RunResult.failed(n, KILLED, f"{why}; it ended with {how}", seconds)
        return RunResult(wire.outputs, wire.grid_errors, wire.error, wire.message, seconds, wire.stdout)

    def close(self) -> None:
        """Stop the zygote, its slots and any running program. Safe to call twice."""
        for slot in self._slots:
            slot.close()
        self._slots = []
        if self._server is not None:
            self._server.close()
            self._server = None


def _wait_ready(slots: list[_Slot]) -> None:
    """Every slot's READY byte, so a scipy slot's import is on no program's clock; a slot that
    exits instead (its import failed) makes the executor fail to start, saying so."""
    waiting = {s.sock: s for s in slots}
    deadline = time.monotonic() + SLOT_START_TIMEOUT_S
    while waiting:
        ready = wait(list(waiting), timeout=max(0.0, deadline - time.monotonic()))
        if not ready:
            raise RuntimeError(f"{len(waiting)} sandbox slots were not ready within {SLOT_START_TIMEOUT_S:g} s")
        for sock in ready:
            slot = waiting.pop(sock)
            if sock.recv(1) != READY:
                kind = "a scipy slot (importing scipy.ndimage failed?)" if slot.scipy else "a slot"
                raise RuntimeError(f"sandbox: {kind} exited before it was ready")


def _read_once(fd: int) -> bytes:
    """Everything in a finished program's pipe (its writers are gone, so this ends), capped."""
    os.set_blocking(fd, False)
    chunks, size = [], 0
    while size <= MAX_RESULT_BYTES:
        try:
            chunk = os.read(fd, MAX_RESULT_BYTES + 1 - size)
        except BlockingIOError:
            break  # a writer survives somewhere: take what is there, never wait for more
        if not chunk:
            break
        chunks.append(chunk)
        size += len(chunk)
    return b"".join(chunks)
