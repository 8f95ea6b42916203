"""The Landlock layer: what a program's process may touch in the file system and the network.

Applied in each fresh program process (child.py) before any of the program's bytes run:
- read-only (read files, list directories) beneath the Python runtime and its libraries
  (`runtime_paths`: the interpreter's prefix, the virtual environment, the system library
  directories and the dynamic loader's cache) — so lazy imports of stdlib modules and numpy
  or scipy submodules keep working;
- read-write beneath the program's own temp directory (its cwd, HOME and TMPDIR);
- nothing else: not /proc (no other process's environ, memory or fds), /sys, /dev, /etc, the
  repository, `.arcfarm/`, the task file, other programs' temp directories;
- no TCP bind or connect (ABI 4), no signals to and no abstract unix sockets of any process
  outside this domain (ABI 6 scopes) — every program process gets its own domain.

We use the `landlockpy` package (0BSD, no dependencies, ctypes over the three syscalls; it knows
the access rights of every ABI up to 11, which the older `landlock` package does not: it has no
network rights and no scopes). It is used with best_effort=False so that a right the kernel
lacks is an error here, never a silent hole.

What it does NOT stop: stat()/access()/readlink() of paths (Landlock does not mediate them: a
program can learn that a file exists, its size and times, not its content); reading or writing
through file descriptors opened before the restriction (child.py closes all but its result
pipe first); anything done with the system calls themselves (that is seccomp_filter.py).
"""
from __future__ import annotations

import os
import sys
import sysconfig

SYSTEM_LIBRARY_PATHS = ("/usr/lib", "/usr/lib64", "/lib", "/lib64", "/usr/local/lib",
                        "/etc/ld.so.cache")
MIN_ABI = 6  # scopes (signals, abstract unix sockets); ABI 4 brought TCP rules


def abi_version() -> int:
    """The kernel's Landlock ABI, 0 when Landlock is missing; raises ImportError without landlockpy."""
    import landlockpy
    return landlockpy.abi_version()


def _inside(path: str, root: str) -> bool:
    return path == root or path.startswith(root.rstrip("/") + "/")


def runtime_paths(package_root: str) -> list[str]:
    """Existing, resolved paths a program may read: the Python runtime and the libraries it loads.

    A candidate that contains `package_root` (the folder holding `arcfarm/`, typically the
    repository) is left out unless `package_root` is itself installed packages, so the
    repository never becomes readable through a broad prefix."""
    candidates = [sys.base_prefix, sys.base_exec_prefix, sys.prefix, sys.exec_prefix,
                  sysconfig.get_paths()["stdlib"], sysconfig.get_paths()["platstdlib"],
                  sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"],
                  *SYSTEM_LIBRARY_PATHS]
    package_root = os.path.realpath(package_root)
    installed = package_root.endswith(("site-packages", "dist-packages"))
    seen: list[str] = []
    for candidate in candidates:
        if not candidate or not os.path.exists(candidate):
            continue
        path = os.path.realpath(candidate)
        if not installed and _inside(package_root, path):
            continue
        if path not in seen:
            seen.append(path)
    # Drop paths already covered by a broader one.
    return sorted(p for p in seen if not any(q != p and _inside(p, q) for q in seen))


def _all_fs():
    from landlockpy import AccessFS
    rights = AccessFS(0)
    for flag in (AccessFS.EXECUTE, AccessFS.WRITE_FILE, AccessFS.READ_FILE, AccessFS.READ_DIR,
                 AccessFS.REMOVE_DIR, AccessFS.REMOVE_FILE, AccessFS.MAKE_CHAR, AccessFS.MAKE_DIR,
                 AccessFS.MAKE_REG, AccessFS.MAKE_SOCK, AccessFS.MAKE_FIFO, AccessFS.MAKE_BLOCK,
                 AccessFS.MAKE_SYM, AccessFS.REFER, AccessFS.TRUNCATE, AccessFS.IOCTL_DEV):
        rights |= flag
    return rights


def ruleset(read_only: list[str], read_write: str):
    """The rules for one program, not yet enforced: built in its slot (a warm process), enforced
    by the program's process with landlock_restrict_self(2) on `fileno()`, after setting
    no_new_privs as Landlock requires (confine.py)."""
    from landlockpy import AccessFS, AccessNet, Ruleset, Scope

    all_fs = _all_fs()
    read = AccessFS.READ_FILE | AccessFS.READ_DIR
    own = all_fs & ~(AccessFS.EXECUTE | AccessFS.MAKE_CHAR | AccessFS.MAKE_BLOCK | AccessFS.IOCTL_DEV)
    rules = Ruleset(handled_fs=all_fs, handled_net=AccessNet.BIND_TCP | AccessNet.CONNECT_TCP,
                    scoped=Scope.SIGNAL | Scope.ABSTRACT_UNIX_SOCKET, best_effort=False)
    try:
        for path in read_only:
            rules.allow_path(path, read if os.path.isdir(path) else AccessFS.READ_FILE)
        # REFER only beneath the temp dir, so renames and links stay inside it.
        rules.allow_path(read_write, own)
    except BaseException:
        rules.close()
        raise
    return rules
