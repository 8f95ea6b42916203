"""torch.compile'd step functions that never fail a job: a shape whose compile fails runs eagerly.

    guard = CompileGuard((_decode_in, _decode_out), enabled=True, backend="inductor")
    fns = guard.functions(key)            # compiled, or eager for a shape that failed before
    try:
        with guard.limits():
            step(*fns)
    except Exception as exc:
        step(*guard.fell_back(key, exc))  # eager from now on for this shape; re-raises OOM

Why: a compile can fail at any shape, not only the first. A compiler missing on the machine
raises at the first call; a long run that meets many shapes hits dynamo's recompile limit, and
with `fullgraph=True` that is `FailOnRecompileLimitHit`, which is not a `TorchDynamoException`
(torch 2.11-2.13), so a check on that class misses it. Here every exception of a compiled call
but out of memory counts as a compile failure: the caller re-runs the step eagerly, and a real
bug in the step raises there. One warning per guard; `take_note()` gives the loop a line for
the epoch row whenever shapes fell back since it last asked.
"""
from __future__ import annotations

import contextlib
import warnings

import torch

from arcfarm.learn.trainer import is_out_of_memory

# Graphs a long run may need: (batch shape) x (prefix buckets) x (suffix buckets) x (adapter or
# none); dynamo's default of 8 per function is far below that. Beyond this, shapes run eagerly.
RECOMPILE_LIMIT = 256


class CompileGuard:
    def __init__(self, functions: tuple, *, enabled: bool, backend="inductor",
                 recompile_limit: int = RECOMPILE_LIMIT, name: str = "decode step"):
        self.eager = tuple(functions)
        self.enabled = enabled
        self.name = name
        self.recompile_limit = recompile_limit
        self.compiled = tuple(torch.compile(f, fullgraph=True, backend=backend) for f in functions) \
            if enabled else self.eager
        self.eager_keys: set = set()  # shapes whose compile failed
        self.ok_keys: set = set()  # shapes that ran compiled
        self.first_error: str | None = None
        self._note_from = 0  # fallbacks already reported by take_note

    @property
    def fallbacks(self) -> int:
        return len(self.eager_keys)

    def functions(self, key) -> tuple:
        if not self.enabled or key in self.eager_keys:
            return self.eager
        return self.compiled

    def limits(self):
        """Dynamo's recompile limit raised for the compiled calls only (not a global change)."""
        if not self.enabled:
            return contextlib.nullcontext()
        from torch._dynamo import config
        names = [n for n in ("recompile_limit", "cache_size_limit") if hasattr(config, n)]
        return config.patch(**{names[0]: self.recompile_limit}) if names else contextlib.nullcontext()

    def succeeded(self, key) -> None:
        if self.enabled and key not in self.eager_keys:
            self.ok_keys.add(key)

    def fell_back(self, key, exc: BaseException) -> tuple:
        """Record that `key` failed to compile and return the eager functions to redo the step
        with; re-raises `exc` if it is not a compile failure (out of memory, or already eager)."""
        if not self.enabled or key in self.eager_keys or is_out_of_memory(exc):
            raise exc
        message = f"{type(exc).__name__}: {exc}"[:2000]
        self.eager_keys.add(key)
        self.ok_keys.discard(key)
        if self.first_error is None:
            self.first_error = message
            warnings.warn(f"{self.name}: torch.compile failed, running this shape and any other "
                          f"that fails eagerly ({message[:300]})", stacklevel=3)
        return self.eager

    def take_note(self) -> str | None:
        """A line about shapes that fell back since the last call, or None."""
        new = self.fallbacks - self._note_from
        if new <= 0:
            return None
        self._note_from = self.fallbacks
        return (f"{self.name}: torch.compile failed for {new} shape(s), decoded eagerly "
                f"({self.fallbacks} in this process; first: {self.first_error[:500]})")

    def stats(self) -> dict:
        return {"compiled_shapes": len(self.ok_keys), "fallbacks": self.fallbacks,
                "first_error": self.first_error}
