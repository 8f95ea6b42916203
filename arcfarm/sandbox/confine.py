"""Confining a fresh program process, in order, before any byte of the program runs.

    confine(plan, prepared, keep_fd, parent_pid)

1. Landlock (landlock_rules.py; the rules were built by the slot, a warm process, and are only
   enforced here); this sets no_new_privs, which is set here anyway when Landlock is off;
2. close every descriptor but 0-2 (/dev/null) and the result pipe: Landlock does not govern
   descriptors opened before it, so none may lead anywhere else (the slot's socket included);
3. rlimits (limits.py); cwd, HOME and TMPDIR = the program's own temp dir;
4. the sandbox uid/gid when started as root: no supplementary groups, real = effective = saved,
   so every capability is gone; then the parent-death signal (a credential change clears it),
   so the process dies with its slot;
5. seccomp last (seccomp_filter.py): it forbids the calls the steps above make.

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
_libc = ctypes.CDLL(None, use_errno=True)


@dataclass
class Plan:
    """What every program process of this zygote gets. Built once (layers.py), inherited by fork."""

    memory_mb: int
    read_only: list[str] = field(default_factory=list)
    landlock: bool = False
    uid: int | None = None  # None: stay as we are (not root, or the user layer is off)
    gid: int | None = None
    seccomp: object | None = None  # a pyseccomp filter (seccomp_filter.build), or None


@dataclass
class Prepared:
    """What a slot readies for one program before forking its process."""

    tmp: str
    ruleset: object | None  # landlock_rules.ruleset(...), not yet enforced
    seccomp: object | None  # seccomp_filter.Compiled
    address_space: int  # bytes mapped before the program runs (the slot's, as forked)


def _prctl(option: int, value: int) -> None:
    if _libc.prctl(option, value, 0, 0, 0) != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"prctl({option}): {os.strerror(err)}")


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
    if prepared.ruleset is not None:
        prepared.ruleset.restrict(no_new_privs=True)
    else:
        _prctl(PR_SET_NO_NEW_PRIVS, 1)
    close_other_fds(keep_fd)
    limits.apply_rlimits(plan.memory_mb, prepared.address_space)
    os.chdir(prepared.tmp)
    os.environ.update(HOME=prepared.tmp, TMPDIR=prepared.tmp)
    tempfile.tempdir = prepared.tmp  # the zygote cached /tmp before TMPDIR was set
    if plan.uid is not None and plan.gid is not None:
        drop_user(plan.uid, plan.gid)
    die_with_parent(parent_pid)
    if prepared.seccomp is not None:
        prepared.seccomp.load()
