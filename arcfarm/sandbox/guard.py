"""An audit hook (PEP 578) that turns forbidden operations into a clear error message.

Installed in each program's process just before the program runs, and never switched off (the
process ends with the program). For a well-meaning program that tries to start a process,
send a signal or open a socket it raises SandboxViolation("sandbox: subprocess.Popen is not
allowed ...") instead of the bare PermissionError the kernel would give.

It is NOT a wall, and no promise rests on it: plain Python can avoid audit events (C code that
never raises them, ctypes, `_posixsubprocess`). The walls are the kernel's: seccomp, Landlock,
the sandbox uid and the namespaces (see child.py); with or without this hook they answer the
same way.
"""
from __future__ import annotations

import sys

from arcfarm.sandbox.errors import SandboxViolation

FORBIDDEN_EVENTS = frozenset({
    "os.system", "os.exec", "os.posix_spawn", "os.spawn", "os.fork", "os.forkpty", "os.kill",
    "os.killpg", "subprocess.Popen", "pty.spawn", "signal.pthread_kill", "webbrowser.open",
})
FORBIDDEN_PREFIXES = ("socket.", "urllib.", "http.", "ftplib.", "smtplib.", "poplib.",
                      "imaplib.", "nntplib.", "telnetlib.")


def _hook(event: str, args: tuple) -> None:
    if event in FORBIDDEN_EVENTS or event.startswith(FORBIDDEN_PREFIXES):
        raise SandboxViolation(f"sandbox: {event} is not allowed (no processes, signals or network)")


def install() -> None:
    sys.addaudithook(_hook)
