# expect: ok
# Raw system calls through ctypes (no audit events): every one must fail. Signals are 0
# (a permission check only), so a broken wall is reported, not acted on.
# The program raises if any call succeeds, so "ok" means every wall held.
import ctypes
import os

libc = ctypes.CDLL(None, use_errno=True)
libc.syscall.restype = ctypes.c_long
CALLS = {
    "fork": (57,), "vfork": (58,), "execve": (59, b"/bin/sh", None, None), "kill_parent": (62, os.getppid(), 0),
    "kill_init": (62, 1, 0), "ptrace_seize": (101, 0x4206, os.getppid(), 0, 0), "unshare_user": (272, 0x10000000),
    "unshare_net": (272, 0x40000000), "setns": (308, 0, 0), "socket": (41, 2, 1, 0), "mount": (165, b"none", b"/tmp", b"tmpfs", 0, None),
    "setuid0": (105, 0), "chroot": (161, b"/"), "bpf": (321, 0, None, 0), "perf_event_open": (298, None, 0, -1, -1, 0),
    "io_uring_setup": (425, 8, None), "userfaultfd": (323, 0), "process_vm_readv": (310, os.getppid(), None, 0, None, 0, 0),
    "pidfd_open": (434, os.getppid(), 0), "setpriority": (141, 0, os.getppid(), 19), "tgkill": (234, os.getppid(), os.getppid(), 0),
    "keyctl": (250, 0, 0, 0, 0, 0), "ioctl_tiocsti": (16, 0, 0x5412, b"x"), "clone_process": (56, 17, 0, 0, 0, 0),
    "memfd_create": (319, b"x", 0), "personality": (135, 0x0040000),
}


def transform(grid):
    got_through = []
    for name, args in CALLS.items():
        if libc.syscall(*[ctypes.c_long(a) if isinstance(a, int) else a for a in args]) >= 0:
            got_through.append(name)
            if name in ("fork", "vfork", "clone_process"):
                libc.syscall(60, 0)  # a child that got through exits at once
    if got_through:
        raise RuntimeError(f"got through: {got_through}")
    return grid
