"""Process-level limits for sandbox processes: a scrubbed environment and resource rlimits.

What it protects against: secrets reaching a program through the environment (the fork
server is started with a minimal allow-list, so neither it nor any worker ever holds the
parent's variables, and /proc/self/environ shows only the allow-list); runaway memory
(RLIMIT_AS -> MemoryError); core dumps; huge files (RLIMIT_FSIZE, with SIGXFSZ ignored so a
write fails instead of killing the worker); and, for a non-root user, new processes and
threads (RLIMIT_NPROC=0).

What it does NOT protect against: root ignores RLIMIT_NPROC (the audit hook in guard.py
covers fork/exec there, less strongly); RLIMIT_AS counts address space, not resident memory.
"""
from __future__ import annotations

import os
import resource
import signal

FILE_SIZE_LIMIT = 16 * 1024 * 1024
OPEN_FILES_LIMIT = 256


def sandbox_env(home: str = "/nonexistent") -> dict[str, str]:
    """The whole environment a sandbox process gets. Nothing is copied from the parent."""
    return {
        "PATH": "/usr/local/bin:/usr/bin:/bin",
        "LANG": "C.UTF-8",
        "HOME": home,
        "TMPDIR": home if home != "/nonexistent" else "/tmp",
        # One BLAS/OpenMP thread: workers are already one per core, and threads cost address space.
        "OMP_NUM_THREADS": "1",
        "OPENBLAS_NUM_THREADS": "1",
        "MKL_NUM_THREADS": "1",
        # Same set/dict iteration order for strings in every worker, so results are reproducible.
        "PYTHONHASHSEED": "0",
        "PYTHONDONTWRITEBYTECODE": "1",
    }


def scrub_environ(home: str) -> None:
    """Replace os.environ (and the C environment) with the allow-list."""
    os.environ.clear()
    os.environ.update(sandbox_env(home))


def _address_space_now() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")


def _set(which: int, value: int) -> None:
    try:
        resource.setrlimit(which, (value, value))
    except (ValueError, OSError):
        pass  # e.g. a hard limit already lower than ours: keep the stricter one


def apply_rlimits(memory_mb: int) -> None:
    """Limits for one worker. `memory_mb` is what the program may allocate on top of the
    worker's own footprint (numpy and friends are already mapped after the fork)."""
    _set(resource.RLIMIT_AS, _address_space_now() + memory_mb * 1024 * 1024)
    _set(resource.RLIMIT_CORE, 0)
    _set(resource.RLIMIT_FSIZE, FILE_SIZE_LIMIT)
    _set(resource.RLIMIT_NOFILE, OPEN_FILES_LIMIT)
    _set(resource.RLIMIT_NPROC, 0)
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
