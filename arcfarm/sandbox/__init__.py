"""Sandboxed execution of generated ARC programs: `Executor`, `ProgramRun`, `RunResult`.

    with Executor(timeout_s=2.0) as ex:
        results = ex.run([ProgramRun(code, task.all_inputs()) for code in programs])

Names are loaded lazily so the zygote, which imports this package's program-side modules, does
not also import the executor (and with it subprocess/multiprocessing) into every program process.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

__all__ = ["Executor", "ProgramRun", "RunResult"]

if TYPE_CHECKING:
    from arcfarm.sandbox.executor import Executor
    from arcfarm.sandbox.interface import ProgramRun, RunResult


def __getattr__(name: str):
    if name == "Executor":
        from arcfarm.sandbox.executor import Executor
        return Executor
    if name in ("ProgramRun", "RunResult"):
        from arcfarm.sandbox import interface
        return getattr(interface, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
