"""The worker supervisor: one solo-pool Celery process per GPU, restarted when it dies.

    arcfarm worker --gpus all -Q h100          # every GPU of this host
    arcfarm worker --gpus 0,1 -Q h100,l4       # GPUs 0 and 1, jobs from two queues
    arcfarm worker --gpus none                 # one CPU worker

Each child is `celery worker --pool solo` with CUDA_VISIBLE_DEVICES=<its GPU> and the name
`gpu<N>@<host>` (`cpu@<host>` without a GPU); that name lands on jobs.worker_name, the GPU on
jobs.gpu. The supervisor itself never imports torch or touches CUDA: `--gpus all` counts GPUs
with `nvidia-smi -L` (or takes CUDA_VISIBLE_DEVICES when set; ARCFARM_FAKE_GPUS=N pretends there
are N, for tests on machines without one).

A child that dies (OOM-killed, segfault, SIGKILL) is restarted after a back-off that doubles with
each quick death (1 s, 2 s, 4 s ... 60 s; reset once a child has lived `stable_s`). The jobs it
held are sent to the queue again at once (`arcfarm reconcile` would only find them after
ARCFARM_STALE_AFTER_S), and their next delivery resumes after the last committed epoch.

SIGTERM or SIGINT: every child gets SIGTERM, Celery's warm shutdown; the runner stops its job at
the next epoch boundary and puts it back in the queue (status queued, not cancelled) for another
worker to resume. A second signal asks the children for a cold shutdown (SIGQUIT); after
`stop_timeout_s` (when set) they are killed. The supervisor exits 0 when every child exited
cleanly.
"""
from __future__ import annotations

import logging
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from typing import Callable

log = logging.getLogger("arcfarm.supervisor")

FAKE_GPUS_ENV = "ARCFARM_FAKE_GPUS"
CELERY_APP = "arcfarm.workers.celery_app:app"


class GpuError(ValueError):
    """A --gpus value that cannot be used."""


def gpu_ids(spec: str, environ: dict[str, str] | None = None) -> list[str | None]:
    """`none` -> [None] (one CPU worker); `all` -> every GPU (error if none); `auto` -> every
    GPU, else one CPU worker; `0,1` -> those ids."""
    spec = spec.strip().lower()
    if spec == "none":
        return [None]
    if spec in ("all", "auto"):
        found = visible_gpus(os.environ if environ is None else environ)
        if not found and spec == "all":
            raise GpuError("--gpus all: no GPU found (nvidia-smi -L lists none)")
        return list(found) or [None]
    ids = [g.strip() for g in spec.split(",") if g.strip()]
    if not ids or not all(g.isdigit() for g in ids) or len(set(ids)) != len(ids):
        raise GpuError(f"--gpus {spec!r}: expected none, all, auto or distinct ids like 0,1")
    return ids


def visible_gpus(environ) -> list[str]:
    """GPU ids without initialising CUDA here: a fake count, CUDA_VISIBLE_DEVICES, nvidia-smi."""
    fake = environ.get(FAKE_GPUS_ENV, "").strip()
    if fake:
        return [str(i) for i in range(int(fake))]
    visible = environ.get("CUDA_VISIBLE_DEVICES")
    if visible is not None and visible.strip() not in ("", "-1"):
        return [g.strip() for g in visible.split(",") if g.strip()]
    if shutil.which("nvidia-smi") is None:
        return []
    try:
        out = subprocess.run(["nvidia-smi", "-L"], capture_output=True, text=True, timeout=30).stdout
    except (OSError, subprocess.SubprocessError):
        return []
    return [str(i) for i, line in enumerate(out.splitlines()) if line.startswith("GPU ")]


@dataclass
class ChildSpec:
    """How to start one worker process."""

    name: str  # gpu0@host, cpu@host: also the Celery node name and jobs.worker_name
    gpu: str | None
    argv: list[str]
    env: dict[str, str]


def worker_specs(gpus: list[str | None], queues: str, loglevel: str = "info",
                 host: str | None = None, app: str = CELERY_APP,
                 environ: dict[str, str] | None = None) -> list[ChildSpec]:
    """The Celery command line and environment of each GPU's (or the CPU's) worker."""
    host = host or socket.gethostname()
    base = {k: v for k, v in (os.environ if environ is None else environ).items()
            if k != FAKE_GPUS_ENV}
    specs = []
    for gpu in gpus:
        name = f"{'cpu' if gpu is None else f'gpu{gpu}'}@{host}"
        env = {**base, "CUDA_VISIBLE_DEVICES": gpu or "", "ARCFARM_WORKER_NAME": name}
        argv = [sys.executable, "-m", "celery", "-A", app, "worker", "--pool", "solo",
                "--concurrency", "1", "-Q", queues, "-n", name, "--loglevel", loglevel,
                "--without-gossip", "--without-mingle"]
        specs.append(ChildSpec(name, gpu, argv, env))
    return specs


@dataclass
class _Child:
    spec: ChildSpec
    proc: subprocess.Popen | None = None
    started: float = 0.0
    quick_deaths: int = 0
    restart_at: float | None = None
    restarts: int = 0
    exit_codes: list[int] = field(default_factory=list)


class Supervisor:
    """Start the children, restart the dead ones, stop them all on SIGTERM/SIGINT."""

    def __init__(self, specs: list[ChildSpec], *, on_lost: Callable[[str, int], None] | None = None,
                 backoff_s: float = 1.0, backoff_max_s: float = 60.0, stable_s: float = 60.0,
                 stop_timeout_s: float | None = None, poll_s: float = 0.2):
        self.children = [_Child(spec) for spec in specs]
        self.on_lost = on_lost
        self.backoff_s, self.backoff_max_s, self.stable_s = backoff_s, backoff_max_s, stable_s
        self.stop_timeout_s, self.poll_s = stop_timeout_s, poll_s
        self.signals = 0
        self.stop_requested_at: float | None = None

    # -- lifecycle ---------------------------------------------------------------------------
    def run(self) -> int:
        """Supervise until a stop signal and every child's exit; returns the exit status."""
        previous = {s: signal.signal(s, self._on_signal) for s in (signal.SIGTERM, signal.SIGINT)}
        try:
            for child in self.children:
                self._start(child)
            while not self._all_stopped():
                self._tick()
                time.sleep(self.poll_s)
        finally:
            for s, handler in previous.items():
                signal.signal(s, handler)
        codes = [c.exit_codes[-1] for c in self.children if c.exit_codes]
        clean = all(code == 0 for code in codes)
        log.info("all workers stopped (%s)", "cleanly" if clean else f"exit codes {codes}")
        return 0 if clean else 1

    def _all_stopped(self) -> bool:
        return self.stopping and all(c.proc is None for c in self.children)

    @property
    def stopping(self) -> bool:
        return self.signals > 0

    def _tick(self) -> None:
        now = time.monotonic()
        for child in self.children:
            if child.proc is not None and child.proc.poll() is not None:
                self._reap(child, now)
            if not self.stopping and child.proc is None and child.restart_at is not None \
                    and now >= child.restart_at:
                self._start(child)
        if self.stopping and self.stop_timeout_s is not None \
                and now - self.stop_requested_at > self.stop_timeout_s:
            self._send(signal.SIGKILL)

    def _start(self, child: _Child) -> None:
        child.proc = subprocess.Popen(child.spec.argv, env=child.spec.env, process_group=0,
                                      preexec_fn=_die_with_parent)
        child.started, child.restart_at = time.monotonic(), None
        log.info("%s: started, pid %d, CUDA_VISIBLE_DEVICES=%r", child.spec.name, child.proc.pid,
                 child.spec.env["CUDA_VISIBLE_DEVICES"])

    def _reap(self, child: _Child, now: float) -> None:
        code = child.proc.returncode
        child.exit_codes.append(code)
        child.proc = None
        lived = now - child.started
        if self.on_lost is not None and code != 0:
            self._requeue(child, code)
        if self.stopping:
            log.info("%s: exited with %d", child.spec.name, code)
            return
        child.quick_deaths = 0 if lived >= self.stable_s else child.quick_deaths + 1
        delay = min(self.backoff_max_s, self.backoff_s * 2 ** max(0, child.quick_deaths - 1))
        child.restart_at, child.restarts = now + delay, child.restarts + 1
        log.warning("%s: exited with %d after %.1f s; restarting in %.1f s (restart %d)",
                    child.spec.name, code, lived, delay, child.restarts)

    def _requeue(self, child: _Child, code: int) -> None:
        try:
            self.on_lost(child.spec.name, code)
        except Exception:  # noqa: BLE001 - reconcile finds the jobs later anyway
            log.warning("%s: could not requeue its jobs (reconcile will)", child.spec.name,
                        exc_info=True)

    # -- signals -----------------------------------------------------------------------------
    def _on_signal(self, signum: int, _frame) -> None:
        self.signals += 1
        if self.signals == 1:
            self.stop_requested_at = time.monotonic()
            log.info("%s: warm shutdown (jobs stop at their next epoch boundary and go back to "
                     "the queue)", signal.Signals(signum).name)
            self._send(signal.SIGTERM)
        else:
            log.info("%s again: cold shutdown", signal.Signals(signum).name)
            self._send(signal.SIGQUIT)

    def _send(self, signum: int) -> None:
        for child in self.children:
            if child.proc is not None and child.proc.poll() is None:
                child.proc.send_signal(signum)


def _die_with_parent() -> None:
    """In the child before exec: get SIGTERM if the supervisor dies (Linux; no-op elsewhere)."""
    try:
        import ctypes

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def requeue_lost(settings) -> Callable[[str, int], None]:
    """on_lost for a farm: the dead worker's running jobs go back to queued, with a message each."""
    def requeue(worker_name: str, code: int) -> None:
        from arcfarm.db import reads, writes
        from arcfarm.db.connection import make_db_engine, make_session_factory
        from arcfarm.jobs.queue import CeleryQueue, QueuedJob

        engine = make_db_engine(settings.db_url)
        queue = CeleryQueue(settings)
        try:
            with make_session_factory(engine)() as session:
                ids = writes.requeue_lost_jobs(session=session, worker_name=worker_name,
                                               error=f"worker {worker_name} died (exit {code})")
                jobs = [j for j in reads.queued_jobs(session=session) if j.job_id in ids]
            queue.enqueue([QueuedJob(j.job_id, j.queue, j.priority) for j in jobs])
        finally:
            queue.close()
            engine.dispose()
        if ids:
            log.warning("%s: requeued job(s) %s", worker_name, ids)
    return requeue
