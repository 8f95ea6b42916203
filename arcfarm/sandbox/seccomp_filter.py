"""The seccomp layer: the system calls a program's process may make at all.

An allow-list: what CPython, numpy and scipy need to compute, allocate, read the files Landlock
lets them read, write their own temp dir, use threads and timers. Anything else fails with EPERM
(a clear PermissionError in Python rather than a killed process), notably:
- fork/vfork/clone of processes and of threads (clone3 answers ENOSYS so that glibc falls back to
  clone, which answers EPERM: Python raises "can't start new thread"), execve/execveat. Without
  threads a program uses one core at most, whatever it does, until its deadline;
- socket/socketpair and every other network call;
- kill/tkill/tgkill/rt_sigqueueinfo/pidfd_* (no signals to anyone, itself included),
  ptrace, process_vm_readv/writev, kcmp;
- setpriority/sched_set*/ioprio_set (priority or affinity of anyone), prlimit64 on other pids;
- unshare/setns/mount/chroot/pivot_root, bpf, perf_event_open, io_uring, userfaultfd, keyctl;
- set*uid/set*gid, capset, chown, mknod, xattrs, ioctl other than the few terminal queries;
- chmod/fchmod/fchmodat and utime*: Landlock does not cover a file's mode or times, and every slot's
  temp dir belongs to the same sandbox uid, so a program could otherwise chmod a neighbour's temp
  dir to 000 (or, in weak mode as root, any host file).

We build the filter with `pyseccomp` (ctypes bindings of Debian's libseccomp, API-compatible with
libseccomp's own Python module) and let libseccomp compile it to BPF, both once per zygote
(`Compiled`, inherited by every slot and program process): libseccomp writes the BPF and the
architecture checks, there is no hand-written BPF here. A program's process then installs those
bytes with one seccomp(2) call (`Compiled.load`) — libseccomp's own `load()` recompiles on every
call, which cost about 1 ms per program in a freshly forked process (copy-on-write faults).
The BPF is a binary tree over the call numbers (libseccomp's CTL_OPTIMIZE=2), not a linear list:
installing it (seccomp(2), in every program process) took 106 us instead of 206 us (same run,
median of 300 fresh processes, 2-core dev VM); the kernel evaluates the filter for every call
number at install, to cache the always-allowed calls. A call under either filter cost the same
(getppid: 280 vs 285 ns).

What it does NOT stop: anything done with the allowed calls — which files may be opened is
Landlock's job (landlock_rules.py), how much memory and CPU is rlimits' and the slot's deadline.
"""
from __future__ import annotations

import ctypes
import errno
import os

TCGETS, TIOCGWINSZ, FIONREAD, FIONBIO, FIOCLEX, FIONCLEX = 0x5401, 0x5413, 0x541B, 0x5421, 0x5451, 0x5450
PR_SET_NAME, PR_GET_NAME, PR_GET_SECCOMP, PR_GET_NO_NEW_PRIVS, PR_SET_VMA = 15, 16, 21, 39, 0x53564D41

ALLOWED = (
    # memory
    "brk", "mmap", "munmap", "mremap", "mprotect", "madvise", "mincore", "msync", "membarrier",
    # files (which ones: Landlock) and descriptors
    "read", "write", "pread64", "pwrite64", "readv", "writev", "preadv", "pwritev", "preadv2",
    "pwritev2", "open", "openat", "openat2", "close", "close_range", "creat", "lseek", "fstat",
    "stat", "lstat", "newfstatat", "statx", "access", "faccessat", "faccessat2", "getdents64",
    "getcwd", "chdir", "fchdir", "readlink", "readlinkat", "mkdir", "mkdirat", "rmdir", "unlink",
    "unlinkat", "rename", "renameat", "renameat2", "link", "linkat", "symlink", "symlinkat",
    "truncate", "ftruncate", "fallocate", "fsync", "fdatasync", "fadvise64", "flock", "fcntl",
    "dup", "dup2", "dup3", "pipe", "pipe2", "umask", "sendfile", "copy_file_range", "splice", "tee",
    # waiting on one's own descriptors and time
    "select", "pselect6", "poll", "ppoll", "epoll_create", "epoll_create1", "epoll_ctl",
    "epoll_wait", "epoll_pwait", "eventfd", "eventfd2", "nanosleep", "clock_nanosleep",
    "clock_gettime", "clock_getres", "gettimeofday", "time", "times",
    # signals and timers of this process only (delivery by the kernel, not by kill)
    "rt_sigaction", "rt_sigprocmask", "rt_sigreturn", "rt_sigpending", "rt_sigsuspend",
    "rt_sigtimedwait", "sigaltstack", "pause", "alarm", "getitimer", "setitimer",
    "timer_create", "timer_settime", "timer_gettime", "timer_getoverrun", "timer_delete",
    "restart_syscall",
    # the one thread's own bookkeeping
    "futex", "set_robust_list", "get_robust_list", "set_tid_address", "rseq", "sched_yield",
    "arch_prctl", "gettid", "exit", "exit_group",
    # questions about itself
    "getpid", "getppid", "getuid", "geteuid", "getgid", "getegid", "getresuid", "getresgid",
    "getgroups", "getpgrp", "getpgid", "getsid", "getrlimit", "getrusage", "uname", "sysinfo",
    "getrandom", "getcpu",
)


def build():
    """The filter (pyseccomp), to be compiled once by `Compiled`. Raises ImportError or OSError when
    libseccomp or its bindings are missing (the caller reports the layer as unavailable)."""
    import pyseccomp as sc

    f = sc.SyscallFilter(defaction=sc.ERRNO(errno.EPERM))
    try:
        f.set_attr(sc.Attr.CTL_OPTIMIZE, 2)  # binary tree: half the install cost (module docstring)
    except (OSError, AttributeError, ValueError):
        pass  # libseccomp < 2.5 or bindings without the attribute: the linear list, same rules
    f.set_attr(sc.Attr.CTL_TSYNC, 1)  # every thread of the process, should a library have made one
    # Calls of another ABI (int 0x80, x32) kill the process: libseccomp's default for a foreign arch.
    for name in ALLOWED:
        f.add_rule(sc.ALLOW, name)
    f.add_rule(sc.ERRNO(errno.ENOSYS), "clone3")
    for request in (TCGETS, TIOCGWINSZ, FIONREAD, FIONBIO, FIOCLEX, FIONCLEX):
        f.add_rule(sc.ALLOW, "ioctl", sc.Arg(1, sc.EQ, request))
    for option in (PR_SET_NAME, PR_GET_NAME, PR_GET_SECCOMP, PR_GET_NO_NEW_PRIVS, PR_SET_VMA):
        f.add_rule(sc.ALLOW, "prctl", sc.Arg(0, sc.EQ, option))
    # Its own limits only (pid 0 = itself); raising a hard limit needs a capability it lacks.
    f.add_rule(sc.ALLOW, "prlimit64", sc.Arg(0, sc.EQ, 0))
    f.add_rule(sc.ALLOW, "setrlimit")
    f.add_rule(sc.ALLOW, "sched_getaffinity", sc.Arg(0, sc.EQ, 0))
    return f


SYS_SECCOMP = 317  # x86_64; other architectures fall back to libseccomp's load()
SECCOMP_SET_MODE_FILTER = 1
SECCOMP_FILTER_FLAG_TSYNC = 1


class _SockFprog(ctypes.Structure):
    _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_void_p)]


class Compiled:
    """A filter compiled by libseccomp, ready to install with one system call."""

    def __init__(self, built):
        self.built = built
        read_fd, write_fd = os.pipe()  # a few kB: fits in the pipe before it is read
        with os.fdopen(write_fd, "wb") as out:
            built.export_bpf(out)
        with os.fdopen(read_fd, "rb") as source:
            self.bpf = source.read()
        self._buffer = ctypes.create_string_buffer(self.bpf, len(self.bpf))
        self._prog = _SockFprog(len(self.bpf) // 8, ctypes.addressof(self._buffer))
        self._libc = ctypes.CDLL(None, use_errno=True)
        self._libc.syscall.restype = ctypes.c_long
        self._native = os.uname().machine == "x86_64"

    def load(self) -> None:
        """Install on this process (every thread); no_new_privs must already be set."""
        if not self._native:
            return self.built.load()
        if self._libc.syscall(SYS_SECCOMP, SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_TSYNC,
                              ctypes.byref(self._prog)) != 0:
            err = ctypes.get_errno()
            raise OSError(err, f"seccomp: {os.strerror(err)}")
