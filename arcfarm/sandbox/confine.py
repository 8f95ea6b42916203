"""Confining a fresh program process, in order, before any byte of the program runs.

    confine(plan, prepared, keep_fd, parent_pid)

0. Already in force when the process is forked, set once by its slot and inherited: the rlimits
   but memory (limits.py) and cwd, HOME, TMPDIR = the program's own temp dir (`settle_in`).
   Setting them in every fresh process cost it copy-on-write page faults: 735 -> 683 per
   trivial program when moved to the slot (same run);
1. no_new_privs, the memory limit (not on the slot: slot.py), then Landlock (landlock_rules.py;
   the rules were built by the slot, a warm process, and are only enforced here, with the bare
   landlock_restrict_self call);
2. close every descriptor but 0-2 (/dev/null) and the result pipe: Landlock does not govern
   descriptors opened before it, so none may lead anywhere else (the slot's socket included);
3. the sandbox uid/gid when started as root: no supplementary groups, real = effective = saved,
   so every capability is gone; then the parent-death signal (a credential change clears it),
   so the process dies with its slot;
4. seccomp last (seccomp_filter.py): it forbids the calls the steps above make.

A step that fails raises; child.py then reports the failure and never runs the program.
"""
from __future__ import annotations

import ctypes
import os
import signal
import tempfile
from dataclasses import dataclass, field

from arcfarm.sandbox import limits

PR_SET_PDEATHSIG = 1
PR_SET_NO_NEW_PRIVS = 38
SYS_LANDLOCK_RESTRICT_SELF = 446  # the same number on every architecture
_libc = ctypes.CDLL(None, use_errno=True)


@dataclass
class Plan:
    """What every program process of this zygote gets. Built once (layers.py), inherited by fork."""

    memory_mb: int
    read_only: list[str] = field(default_factory=list)
    landlock: bool = False
    uid: int | None = None  # None: stay as we are (not root, or the user layer is off)
    gid: int | None = None
    seccomp: object | None = None  # seccomp_filter.Compiled, or None


@dataclass
class Prepared:
    """What a slot readies for its programs before forking their processes (kept while the temp
    dir can be emptied after each program)."""

    tmp: str
    ruleset: object | None  # landlock_rules.ruleset(...), not yet enforced
    address_space: int = 0  # the slot's footprint: the program may map memory_mb on top of it


def _prctl(option: int, value: int) -> None:
    if _libc.prctl(option, value, 0, 0, 0) != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"prctl({option}): {os.strerror(err)}")


def settle_in(tmp: str) -> None:
    """cwd, HOME, TMPDIR and tempfile's cached dir = `tmp`; done by the slot, inherited by fork."""
    os.chdir(tmp)
    os.environ.update(HOME=tmp, TMPDIR=tmp)
    tempfile.tempdir = tmp  # the zygote cached /tmp before TMPDIR was set


def close_other_fds(keep_fd: int) -> None:
    os.closerange(3, keep_fd)
    os.closerange(keep_fd + 1, 1 << 20)


def drop_user(uid: int, gid: int) -> None:
    os.setgroups([])
    os.setresgid(gid, gid, gid)
    os.setresuid(uid, uid, uid)
    if os.getresuid() != (uid, uid, uid) or os.getresgid() != (gid, gid, gid) or os.getgroups():
        raise OSError("the sandbox uid/gid did not stick")


def die_with_parent(parent_pid: int) -> None:
    _prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() != parent_pid:  # the parent died before the signal was armed
        os._exit(1)


def confine(plan: Plan, prepared: Prepared, keep_fd: int, parent_pid: int) -> None:
    _prctl(PR_SET_NO_NEW_PRIVS, 1)  # Landlock and seccomp need it; set even with both off
    if prepared.address_space:  # the memory limit, here and not in the slot (slot.py)
        limits.apply_memory_limit(plan.memory_mb, prepared.address_space)
    if prepared.ruleset is not None:
        # The system call itself: landlockpy's restrict() re-checks its flags in Python first, which
        # in a fresh process cost page faults (735 -> 698 per trivial program without it, same run).
        if _libc.syscall(SYS_LANDLOCK_RESTRICT_SELF, prepared.ruleset.fileno(), 0) != 0:
            err = ctypes.get_errno()
            raise OSError(err, f"landlock_restrict_self: {os.strerror(err)}")
    close_other_fds(keep_fd)
    if plan.uid is not None and plan.gid is not None:
        drop_user(plan.uid, plan.gid)
    die_with_parent(parent_pid)
    if plan.seccomp is not None:
        plan.seccomp.load()
