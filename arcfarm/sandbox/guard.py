"""An audit hook (PEP 578) that refuses dangerous operations while a program runs.

Installed once per worker; it checks a flag, so the worker's own machinery (pipes, imports
done before the program) is never affected, and it costs one list lookup per audit event.
While the flag is on it raises SandboxViolation for: process creation and signalling (fork,
exec, spawn, system, Popen, kill); every socket operation (no network, local or remote);
ctypes; opening anything under /proc, /sys or /dev (no /proc/<pid>/environ, no memory
peeking); writes, renames, deletes and directory changes outside the worker's private temp
directory; reads outside it except Python source/bytecode/extension files (so lazy imports
work but ./.env does not); rlimit changes; and the introspection that could reach the worker's
frames or this hook's flag (sys._getframe, frame attributes, gc.get_objects/get_referrers,
settrace/setprofile).

What it does NOT protect against: audit hooks are a speed bump, not a wall. A program that
finds an unaudited path to native code (an already-loaded extension's raw API) can escape
them. The walls are elsewhere: the separate process with a scrubbed environment, rlimits, the
parent's hard deadline and, when the farm runs as a non-root user, RLIMIT_NPROC. Run the farm
as non-root for real isolation.
"""
from __future__ import annotations

import os
import sys
from collections.abc import Callable

from arcfarm.sandbox.errors import SandboxViolation

BLOCKED_EVENTS = frozenset({
    "os.system", "os.exec", "os.posix_spawn", "os.spawn", "os.fork", "os.forkpty", "os.kill",
    "os.killpg", "os.chdir", "os.chmod", "os.chown", "os.chflags", "os.link", "os.symlink",
    "os.mkfifo", "os.mknod", "os.setxattr", "os.removexattr", "os.putenv", "os.unsetenv",
    "subprocess.Popen", "pty.spawn", "signal.pthread_kill", "resource.setrlimit",
    "resource.prlimit", "sys.addaudithook", "sys._getframe", "sys._current_frames",
    "sys._current_exceptions", "sys.settrace", "sys.setprofile", "object.__getattr__",
    "gc.get_objects", "gc.get_referrers", "gc.get_referents", "code.__new__", "function.__new__",
    "webbrowser.open", "mmap.__new__",
})
BLOCKED_PREFIXES = ("socket.", "ctypes.", "_ctypes", "winreg.", "urllib.", "http.", "ftplib.",
                    "smtplib.", "poplib.", "imaplib.", "nntplib.", "telnetlib.")
BLOCKED_IMPORTS = frozenset({"ctypes", "_ctypes", "_posixsubprocess", "subprocess", "pty",
                             "multiprocessing", "_multiprocessing", "socket", "_socket", "ssl"})
TEMP_DIR_EVENTS = frozenset({"os.mkdir", "os.remove", "os.rmdir", "os.truncate", "os.utime",
                             "shutil.rmtree"})
LISTING_EVENTS = frozenset({"os.listdir", "os.scandir", "glob.glob"})
READABLE_SUFFIXES = (".py", ".pyc", ".so", ".pth")
PRIVATE_ROOTS = ("/proc", "/sys", "/dev")
WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_APPEND | os.O_CREAT | os.O_TRUNC


def _path(value: object) -> str | None:
    if isinstance(value, (str, bytes, os.PathLike)):
        try:
            return os.path.realpath(os.fsdecode(value))
        except (TypeError, ValueError):
            return None
    return None


def _under(path: str, root: str) -> bool:
    return path == root or path.startswith(root.rstrip("/") + "/")


class Policy:
    """Decides one audit event; `check` raises SandboxViolation or returns."""

    def __init__(self, temp_dir: str):
        self.temp_dir = os.path.realpath(temp_dir)

    def check(self, event: str, args: tuple) -> None:
        if event in BLOCKED_EVENTS or event.startswith(BLOCKED_PREFIXES):
            raise SandboxViolation(f"sandbox: {event} is not allowed")
        if event == "open":
            self._check_open(args)
        elif event == "import" and args and str(args[0]).split(".")[0] in BLOCKED_IMPORTS:
            raise SandboxViolation(f"sandbox: import of {args[0]} is not allowed")
        elif event in TEMP_DIR_EVENTS or event == "os.rename":
            self._require_temp(event, args[:2] if event == "os.rename" else args[:1])
        elif event in LISTING_EVENTS and args:
            path = _path(args[0])
            if path is not None and path.startswith(PRIVATE_ROOTS):
                raise SandboxViolation(f"sandbox: listing {path} is not allowed")

    def _require_temp(self, event: str, paths: tuple) -> None:
        for value in paths:
            path = _path(value)
            if path is None or not _under(path, self.temp_dir):
                raise SandboxViolation(f"sandbox: {event} outside the sandbox directory")

    def _check_open(self, args: tuple) -> None:
        target = args[0] if args else None
        flags = args[2] if len(args) > 2 and isinstance(args[2], int) else 0
        mode = args[1] if len(args) > 1 and isinstance(args[1], str) else ""
        writing = bool(flags & WRITE_FLAGS) or any(c in mode for c in "wax+")
        if isinstance(target, int):
            if target > 2:  # a raw fd could be the worker's pipe to the parent
                raise SandboxViolation("sandbox: opening file descriptors is not allowed")
            return
        path = _path(target)
        if path is None:
            raise SandboxViolation("sandbox: open of an unrecognised path")
        if _under(path, self.temp_dir):
            return
        if path.startswith(PRIVATE_ROOTS):
            raise SandboxViolation(f"sandbox: reading {path} is not allowed")
        if writing:
            raise SandboxViolation(f"sandbox: writing {path} is not allowed (outside the sandbox directory)")
        if not path.endswith(READABLE_SUFFIXES) and not os.path.isdir(path):
            raise SandboxViolation(f"sandbox: reading {path} is not allowed")


def install(temp_dir: str) -> Callable[[bool], None]:
    """Add the hook to this process and return the switch that turns it on and off.

    The switch lives only in this closure and the caller's local variable; nothing reachable
    from a program's namespace refers to it."""
    policy = Policy(temp_dir)
    active = [False]

    def hook(event: str, args: tuple) -> None:
        if active[0]:
            policy.check(event, args)

    sys.addaudithook(hook)

    def switch(on: bool) -> None:
        active[0] = on

    return switch
