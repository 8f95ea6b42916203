"""Resource limits and the environment of sandbox processes.

What it protects against: secrets reaching a program through the environment (the zygote is
started with this allow-list, so neither it nor any program process ever holds the executor's
variables); runaway memory (RLIMIT_AS -> MemoryError); core dumps; huge files (RLIMIT_FSIZE,
with SIGXFSZ ignored so a write fails instead of killing the process); descriptor floods.

What it does NOT protect against: RLIMIT_AS counts address space, not resident memory; CPU time
is bounded by the slot's deadline, not by an rlimit. Process creation is stopped by seccomp
(seccomp_filter.py), not by RLIMIT_NPROC: every program process runs as the same sandbox uid, so
a per-uid process count would also forbid the threads that seccomp allows.
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
        # One BLAS/OpenMP thread: one program per core already, and threads cost address space.
        "OMP_NUM_THREADS": "1",
        "OPENBLAS_NUM_THREADS": "1",
        "MKL_NUM_THREADS": "1",
        # Same set/dict iteration order for strings in every process, so results are reproducible.
        "PYTHONHASHSEED": "0",
        "PYTHONDONTWRITEBYTECODE": "1",
    }


def address_space_now() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")


def _set(which: int, value: int) -> None:
    try:
        resource.setrlimit(which, (value, value))
    except (ValueError, OSError):
        pass  # e.g. a hard limit already lower than ours: keep the stricter one


def apply_memory_limit(memory_mb: int, address_space: int) -> None:
    _set(resource.RLIMIT_AS, address_space + memory_mb * 1024 * 1024)


def apply_rlimits(memory_mb: int, address_space: int, *, memory: bool = True) -> None:
    """Limits for program processes. `memory_mb` is what a program may allocate on top of
    `address_space`, the process's own footprint (numpy and friends are mapped before the fork).
    A slot sets them on itself once and every program process it forks inherits them; the slot
    never needs more (it holds a few descriptors, writes no file, allocates little)."""
    if memory:
        apply_memory_limit(memory_mb, address_space)
    _set(resource.RLIMIT_CORE, 0)
    _set(resource.RLIMIT_FSIZE, FILE_SIZE_LIMIT)
    _set(resource.RLIMIT_NOFILE, OPEN_FILES_LIMIT)
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
