"""Fixtures of the scaling tests: the farm tests' throwaway PostgreSQL database, Redis db and
queue name (tests/farm_fixtures.py), plus `start_supervisor`, which runs `arcfarm worker` as a
real process tree on the CPU.
"""
from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from farm_fixtures import (  # noqa: F401
    ROOT,
    farm_env,
    farm_settings,
    pg_url,
    queue_name,
    redis_url,
    session_factory,
)

STARTED = re.compile(r"(\S+@\S+): started, pid (\d+), CUDA_VISIBLE_DEVICES='(\d*)'")


class SupervisorProc:
    """An `arcfarm worker` process; its log says which child has which pid."""

    def __init__(self, proc: subprocess.Popen, log: Path):
        self.proc, self.log = proc, log

    def starts(self) -> list[tuple[str, int, str]]:
        """(name, pid, CUDA_VISIBLE_DEVICES) of every child start, oldest first."""
        return [(m[0], int(m[1]), m[2]) for m in STARTED.findall(self.log.read_text())]

    def pid_of(self, name: str) -> int:
        return [pid for n, pid, _ in self.starts() if n == name][-1]

    def stop(self, timeout: float = 90) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()  # its children get SIGTERM (PR_SET_PDEATHSIG)
            return self.proc.wait()


@pytest.fixture
def start_supervisor(farm_env, tmp_path):  # noqa: F811 - the fixture imported above
    """start_supervisor(gpus, queues, fake_gpus=None) -> SupervisorProc; all stopped afterwards."""
    started: list[SupervisorProc] = []

    def start(gpus: str, queues: str, fake_gpus: int | None = None) -> SupervisorProc:
        env = {k: v for k, v in os.environ.items() if not k.startswith("ARCFARM_")}
        env.update(farm_env, PYTHONUNBUFFERED="1", OMP_NUM_THREADS="1")  # 2 workers, 2 cores
        if fake_gpus is not None:
            env["ARCFARM_FAKE_GPUS"] = str(fake_gpus)
        log = tmp_path / f"supervisor-{len(started)}.log"
        cmd = [sys.executable, "-m", "arcfarm.cli", "worker", "--gpus", gpus, "-Q", queues,
               "--restart-backoff", "0.5"]
        with log.open("w") as out:
            proc = subprocess.Popen(cmd, env=env, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT)
        started.append(SupervisorProc(proc, log))
        return started[-1]

    yield start
    for sup in started:
        sup.stop()
