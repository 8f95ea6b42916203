"""Error classes of the sandbox: the short strings a RunResult's `error` field may hold.

A failed run is described by one string, never by a raised exception. The fixed classes
below are produced by the sandbox itself; any other value is the name of the exception type
the program raised (``"ValueError"``, ``"RecursionError"``, ...). Note that a program can
define an exception class with any name, so a class string is a label, not a proof.
"""
from __future__ import annotations

SYNTAX = "syntax"  # the code does not compile
NO_TRANSFORM = "no_transform"  # the code ran but defines no callable `transform`
TIMEOUT = "timeout"  # the program used up its wall-clock budget
MEMORY = "memory"  # MemoryError (the address-space limit was hit)
KILLED = "killed"  # the program's process died without a valid result
INVALID_OUTPUT = "invalid_output"  # transform returned something that is not a grid


MAX_CLASS_CHARS = 100
MAX_MESSAGE_CHARS = 2000


class SoftTimeout(BaseException):
    """Raised inside a program's process by the SIGALRM timer. A BaseException so `except Exception` misses it."""


class SandboxViolation(PermissionError):
    """Raised inside a program's process by the audit hook (guard.py), for a clear message."""


class SandboxUnavailable(RuntimeError):
    """The executor cannot start with the isolation it was asked for (it names what is missing)."""


def classify(exc: BaseException) -> str:
    """The error class of an exception raised by program code."""
    if isinstance(exc, MemoryError):
        return MEMORY
    if isinstance(exc, SoftTimeout):
        return TIMEOUT
    return type(exc).__name__[:MAX_CLASS_CHARS]


def describe(exc: BaseException) -> str:
    """`Type: message`, short. str() of a hostile exception may itself fail, so guard it."""
    try:
        text = str(exc)
    except BaseException:  # noqa: BLE001 - the exception object is program-controlled
        text = "<unprintable>"
    name = type(exc).__name__
    return (f"{name}: {text}" if text else name)[:MAX_MESSAGE_CHARS]
