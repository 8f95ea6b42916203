"""What goes into the sandbox (ProgramRun) and what comes out (RunResult)."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class ProgramRun:
    """One program to run on every grid of `inputs` (typically a task's train then test inputs)."""

    code: str
    inputs: tuple[np.ndarray, ...]


@dataclass
class RunResult:
    """Outputs per input (None where that grid failed), the error class per grid, and the first
    failure's class and message (see errors.py). `seconds` is wall-clock time seen by the parent."""

    outputs: list[np.ndarray | None]
    grid_errors: list[str | None]
    error: str | None
    message: str | None
    seconds: float
    stdout: str

    @property
    def ok(self) -> bool:
        return self.error is None

    @classmethod
    def failed(cls, n: int, error: str, message: str, seconds: float = 0.0) -> RunResult:
        return cls([None] * n, [error] * n, error, message, seconds, "")
