"""A sandbox slot: one per executor worker, forked from the zygote; forks a fresh process per program.

The slot never runs a program and never reads a byte a program wrote. For each request from the
executor (one frame: code, inputs, timeout; plus the write end of that program's result pipe,
passed as a descriptor) it:
1. has the program's temp dir ready (mode 0700, owned by the sandbox uid, empty);
2. forks the program's process (child.py), which confines itself and writes to the pipe;
3. waits for it to exit, or SIGKILLs it at `timeout_s + grace_s` (it is the slot's own unreaped
   child, so the pid cannot have been reused);
4. empties the temp dir (or, if that fails, drops it and makes a new one for the next program)
   and answers the executor with how the process ended.

The temp dir and its Landlock rules are made once per slot and reused while the dir can be
emptied: building the rules costs about 0.5 ms (landlockpy's flag arithmetic in Python), a
sixth of a trivial program's budget. For the same reason the slot sets the program processes'
rlimits on itself once, and enters their temp dir (cwd, HOME, TMPDIR) whenever it makes one:
fork passes both on, and the fresh process is spared the copy-on-write faults of doing it.

If the executor goes away (its socket closes) the slot kills its program and exits; a program
process gets SIGKILL when its slot dies (confine.die_with_parent), so nothing is orphaned.
"""
from __future__ import annotations

import ctypes
import gc
import importlib
import os
import select
import shutil
import signal
import socket
import subprocess  # here, not in remove_tree: nothing is imported while a temp dir is the cwd
import sys
import time

from arcfarm.sandbox import child, landlock_rules, limits
from arcfarm.sandbox.confine import Plan, Prepared, die_with_parent, settle_in
from arcfarm.sandbox.wire import decode_request, encode_status, frame, read_frame

_libc = ctypes.CDLL(None, use_errno=True)
READY = b"R"  # a slot's first byte: its preloads are imported


def fork() -> int:
    """libc's fork(), not os.fork(): os.fork() also runs CPython's after-fork work in the child
    (the at-fork handlers of threading, random and logging, lock re-creation), which costs every
    program process copy-on-write faults and time. Same-run A/B, 10 rounds of 400 trivial runs
    on 2 slots: 578 vs 640 faults per program process, 238 vs 226 runs/s, 0.91x the CPU per
    run; the mix: 752 vs 789 faults, 1.04x the rate. Sound here because the slot has one thread
    and holds no lock when it forks, and the child seeds `random` itself (program.py); checked
    against CPython 3.11's after-fork steps only, so other versions keep os.fork()."""
    if sys.version_info[:2] != (3, 11):
        return os.fork()
    pid = _libc.fork()
    if pid < 0:
        err = ctypes.get_errno()
        raise OSError(err, os.strerror(err))
    return pid


class Slot:
    def __init__(self, sock: socket.socket, plan: Plan, tmp_root: str, grace_s: float, stdout_limit: int):
        self.sock, self.plan, self.tmp_root = sock, plan, tmp_root
        self.grace_s, self.stdout_limit = grace_s, stdout_limit
        self.count = 0
        # Inherited by every program process, but for the memory limit, which the child sets on
        # itself: a slot under it could be made to fail by what a program leaves (a directory of
        # millions of hard links read into memory by rmtree). Its own footprint is the base.
        limits.apply_rlimits(plan.memory_mb, limits.address_space_now(), memory=False)
        self.address_space = limits.address_space_now()
        self.prepared: Prepared | None = None

    def serve(self) -> None:
        while True:
            msg, fds, _, _ = socket.recv_fds(self.sock, 1, 1)
            if not msg or not fds:
                return
            data = read_frame(self.sock.fileno())
            if data is None:
                return
            self.sock.sendall(frame(encode_status(**self._run(decode_request(data), fds[0]))))

    def _prepare(self) -> Prepared:
        """The slot's temp dir and its Landlock rules, made once and kept while the dir is
        emptied cleanly after each program (rules name the directory's inode, not its path)."""
        if self.prepared is None:
            self.count += 1
            tmp = os.path.join(self.tmp_root, f"{os.getpid()}-{self.count}")
            os.mkdir(tmp, 0o700)
            if self.plan.uid is not None:
                os.chown(tmp, self.plan.uid, self.plan.gid)
            rules = landlock_rules.ruleset(self.plan.read_only, tmp) if self.plan.landlock else None
            self.prepared = Prepared(tmp, rules, self.address_space)
            settle_in(tmp)
        return self.prepared

    def _reset_tmp(self) -> None:
        """Empty the temp dir for the next program, or drop it (and its rules) if that fails."""
        tmp = self.prepared.tmp
        try:
            os.chmod(tmp, 0o700)  # the program owned it and may have changed its mode
            for entry in os.scandir(tmp):
                if entry.is_dir(follow_symlinks=False):
                    remove_tree(entry.path)
                else:
                    os.unlink(entry.path)
            if not os.listdir(tmp):
                return
        except OSError:
            pass
        if self.prepared.ruleset is not None:
            self.prepared.ruleset.close()
        remove_tree(tmp)
        self.prepared = None

    def _run(self, request: tuple, result_fd: int) -> dict:
        prepared = self._prepare()
        start = time.monotonic()
        slot_pid = os.getpid()  # taken before the fork: if the slot dies first, the child knows
        pid = fork()
        if pid == 0:
            child.main(self.plan, prepared, request, result_fd, slot_pid, self.stdout_limit)
        os.close(result_fd)
        try:
            status, timed_out = self._wait(pid, start + request[2] + self.grace_s)
        finally:
            self._reset_tmp()
        seconds = time.monotonic() - start
        if os.WIFSIGNALED(status):
            return {"exit": None, "signal": os.WTERMSIG(status), "timed_out": timed_out, "seconds": seconds}
        return {"exit": os.WEXITSTATUS(status), "signal": None, "timed_out": timed_out, "seconds": seconds}

    def _wait(self, pid: int, deadline: float) -> tuple[int, bool]:
        """(wait status, killed at the deadline). Exits the slot if the executor went away."""
        try:
            pidfd = os.pidfd_open(pid)
        except OSError:  # a kernel without pidfds: look every 2 ms instead
            pidfd = None
        try:
            while True:
                left = deadline - time.monotonic()
                if left <= 0:
                    os.kill(pid, signal.SIGKILL)
                    return os.waitpid(pid, 0)[1], True
                watched = [self.sock] if pidfd is None else [pidfd, self.sock]
                ready, _, _ = select.select(watched, [], [], left if pidfd is not None else min(left, 0.002))
                if pidfd is None:
                    done, status = os.waitpid(pid, os.WNOHANG)
                    if done:
                        return status, False
                elif pidfd in ready:
                    return os.waitpid(pid, 0)[1], False
                if self.sock in ready and not self.sock.recv(1, socket.MSG_PEEK):
                    os.kill(pid, signal.SIGKILL)
                    os.waitpid(pid, 0)
                    os._exit(0)
        finally:
            if pidfd is not None:
                os.close(pidfd)


def _detach_stdio() -> None:
    """0-2 on /dev/null: the zygote's stderr is the executor's (a terminal, a worker's log), which
    a program must not write to."""
    null = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(null, fd)
    os.close(null)


def remove_tree(path: str) -> None:
    """Remove what a program left, whatever it is: shutil.rmtree first (no process), then GNU rm,
    which also takes trees too deep for Python's recursion or for PATH_MAX (a program can nest
    thousands of folders) and folders it made read-only. Names are never reused, so anything
    left behind reaches no later program."""
    def writable_then_retry(function, failed_path, exc_info):
        if function is os.open:  # a folder it cannot list: needs flags to retry, rm below does it
            raise exc_info[1]
        os.chmod(os.path.dirname(failed_path), 0o700)
        function(failed_path)
    try:
        shutil.rmtree(path, onerror=writable_then_retry)
        return
    except Exception:  # noqa: BLE001 - whatever a program left (MemoryError included): rm below
        pass
    subprocess.run(["chmod", "-R", "u+rwx", "--", path], stderr=subprocess.DEVNULL, check=False)
    subprocess.run(["rm", "-rf", "--one-file-system", "--", path], stderr=subprocess.DEVNULL, check=False)


def main(fd: int, plan: Plan, tmp_root: str, grace_s: float, stdout_limit: int, zygote_pid: int,
         preload: tuple[str, ...] = ()) -> None:
    """Entry point in the freshly forked slot; never returns. `preload`: modules its program
    processes find loaded, beyond the zygote's (imported here, before any program exists)."""
    code = 0
    try:
        die_with_parent(zygote_pid)
        os.setsid()
        _detach_stdio()
        sock = socket.socket(fileno=fd)
        if preload:
            for name in preload:
                importlib.import_module(name)
            gc.freeze()  # as the zygote does: program processes leave these objects' pages shared
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        # no Python-level handler may be pending when it forks (libc fork does not clear them)
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        sock.sendall(READY)  # the executor waits for it before it sends any program
        Slot(sock, plan, tmp_root, grace_s, stdout_limit).serve()
    except BaseException:  # noqa: BLE001 - the executor sees EOF and reports "killed"
        code = 1
    os._exit(code)
