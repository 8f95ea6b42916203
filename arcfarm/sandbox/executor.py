"""The sandbox executor: a reusable pool of jailed worker processes that run generated programs.

    with Executor(workers=None, timeout_s=2.0, memory_mb=1024) as ex:
        results = ex.run([ProgramRun(code, inputs), ...])   # order kept, one RunResult each

Workers are forked by a clean-environment fork server (zygote.py; never by this process, which
may hold CUDA or secrets). The parent hands one program at a time to each idle worker over its
own pipe and waits on all pipes at once (multiprocessing.connection.wait). The parent owns the
hard deadline: a worker still busy `timeout_s + grace_s` after it got its program is SIGKILLed
(with its whole process group) and replaced, which ends loops that swallow exceptions, ignore
signals, or hang inside C code. A worker that dies or sends malformed bytes yields "killed"
and is replaced. Workers are also retired after `recycle_after` programs, or when they ask
(after a memory error, a soft timeout or a stray thread). Every failure is a classified
RunResult; `run` never raises because of a program.

What it does NOT protect against: see guard.py and limits.py. Not thread-safe: one `run` at a
time per Executor (a lock enforces it).
"""
from __future__ import annotations

import json
import os
import shutil
import signal
import threading
import time
from collections import deque
from collections.abc import Sequence
from multiprocessing.connection import Connection, wait
from pathlib import Path

from arcfarm.sandbox.errors import KILLED, TIMEOUT
from arcfarm.sandbox.forkserver import ForkServer
from arcfarm.sandbox.records import ProgramRun, RunResult
from arcfarm.sandbox.wire import MAX_RESULT_BYTES, WireError, decode_result, encode_request

DEFAULT_COMMON = str(Path(__file__).resolve().parents[1] / "arc" / "common.py")
START_TIMEOUT_S = 60.0


class _Worker:
    def __init__(self, pid: int, conn: Connection):
        self.pid, self.conn = pid, conn
        self.tmp: str | None = None
        self.ready = False
        self.job: int | None = None  # index into the current run() batch
        self.n_inputs = 0
        self.sent_at = 0.0
        self.deadline = float("inf")
        self.done = 0

    def kill(self) -> None:
        for kill in (os.killpg, os.kill):
            try:
                kill(self.pid, signal.SIGKILL)
            except OSError:
                pass
        self.conn.close()
        if self.tmp and os.path.basename(self.tmp).startswith("arcfarm-sandbox-"):
            shutil.rmtree(self.tmp, ignore_errors=True)


class Executor:
    def __init__(self, workers: int | None = None, timeout_s: float = 2.0, memory_mb: int = 1024, *,
                 common_path: str | None = None, stdout_limit: int = 10_000, grace_s: float = 0.1,
                 recycle_after: int = 2000):
        self.n_workers = max(1, workers or self.default_workers())
        self.timeout_s, self.grace_s = timeout_s, grace_s
        self.stdout_limit, self.recycle_after = stdout_limit, recycle_after
        self._lock = threading.Lock()
        self._common = common_path or DEFAULT_COMMON
        self._memory_mb = memory_mb
        self._server = ForkServer(self._common, memory_mb, stdout_limit)
        self._workers: list[_Worker] = []
        self._failed_starts = 0
        try:
            for _ in range(self.n_workers):
                self._spawn()
            self._wait_ready()
        except BaseException:
            self.close()
            raise

    @staticmethod
    def default_workers() -> int:
        return os.cpu_count() or 1

    def __enter__(self) -> Executor:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # --- worker lifecycle -------------------------------------------------------------------
    def _spawn(self) -> None:
        try:
            pid, conn = self._server.fork()
        except OSError:
            self._server.close()  # it died (or hangs): start a new one
            self._server = ForkServer(self._common, self._memory_mb, self.stdout_limit)
            pid, conn = self._server.fork()
        self._workers.append(_Worker(pid, conn))

    def _retire(self, worker: _Worker) -> None:
        worker.kill()
        self._workers.remove(worker)
        self._spawn()

    def _on_hello(self, worker: _Worker) -> None:
        try:
            hello = json.loads(worker.conn.recv_bytes(4096))
            worker.tmp, worker.ready = str(hello["tmp"]), True
            self._failed_starts = 0
        except (EOFError, OSError, ValueError, KeyError, TypeError):
            self._failed_starts += 1
            if self._failed_starts > 3 * self.n_workers:
                raise RuntimeError("sandbox workers keep dying at start-up") from None
            self._retire(worker)

    def _wait_ready(self) -> None:
        give_up = time.monotonic() + START_TIMEOUT_S
        while not all(w.ready for w in self._workers):
            left = give_up - time.monotonic()
            if left <= 0:
                raise RuntimeError("sandbox workers did not start in time")
            starting = {w.conn: w for w in self._workers if not w.ready}
            for conn in wait(list(starting), timeout=left):
                self._on_hello(starting[conn])

    # --- running ----------------------------------------------------------------------------
    def run(self, runs: Sequence[ProgramRun]) -> list[RunResult]:
        """Run every program on its inputs; results in the same order. Never raises for a program."""
        with self._lock:
            # Encoded up front: inputs that cannot be sent are the caller's bug and raise here.
            payloads = [encode_request(r.code, r.inputs, self.timeout_s) for r in runs]
            results: list[RunResult | None] = [None] * len(runs)
            pending = deque(range(len(runs)))
            while pending or any(w.job is not None for w in self._workers):
                self._dispatch(runs, payloads, pending)
                self._collect(results)
            return results  # type: ignore[return-value]

    def _dispatch(self, runs: Sequence[ProgramRun], payloads: list[bytes], pending: deque) -> None:
        for worker in list(self._workers):
            if not pending:
                return
            if not worker.ready or worker.job is not None:
                continue
            index = pending.popleft()
            try:
                worker.conn.send_bytes(payloads[index])
            except OSError:  # the worker died while idle: retry the program on a fresh one
                pending.appendleft(index)
                self._retire(worker)
                continue
            worker.job, worker.n_inputs = index, len(runs[index].inputs)
            worker.sent_at = time.monotonic()
            worker.deadline = worker.sent_at + self.timeout_s + self.grace_s

    def _collect(self, results: list) -> None:
        watched = {w.conn: w for w in self._workers if w.job is not None or not w.ready}
        now = time.monotonic()
        nearest = min((w.deadline for w in watched.values() if w.job is not None), default=now + 1.0)
        for conn in wait(list(watched), timeout=max(0.0, nearest - now)):
            worker = watched[conn]
            if not worker.ready:
                self._on_hello(worker)
            else:
                self._on_result(worker, results)
        now = time.monotonic()
        for worker in [w for w in self._workers if w.job is not None and w.deadline <= now]:
            results[worker.job] = RunResult.failed(
                worker.n_inputs, TIMEOUT, f"program ran longer than {self.timeout_s:g} s (worker killed)",
                now - worker.sent_at)
            self._retire(worker)

    def _on_result(self, worker: _Worker, results: list) -> None:
        index, seconds = worker.job, time.monotonic() - worker.sent_at
        worker.job = None
        try:
            wire = decode_result(worker.conn.recv_bytes(MAX_RESULT_BYTES), worker.n_inputs, self.stdout_limit)
        except (EOFError, OSError, WireError) as exc:
            why = "the worker process died" if isinstance(exc, EOFError) else f"malformed result ({exc})"
            results[index] = RunResult.failed(worker.n_inputs, KILLED, why, seconds)
            self._retire(worker)
            return
        results[index] = RunResult(wire.outputs, wire.grid_errors, wire.error, wire.message, seconds, wire.stdout)
        worker.done += 1
        if wire.recycle or worker.done >= self.recycle_after:
            self._retire(worker)

    def close(self) -> None:
        """Kill every worker and the fork server. Safe to call twice."""
        for worker in self._workers:
            worker.kill()
        self._workers = []
        if self._server is not None:
            self._server.close()
            self._server = None  # type: ignore[assignment]
