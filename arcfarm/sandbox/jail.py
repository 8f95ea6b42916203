"""The bubblewrap command line that starts the zygote in its own namespaces.

bubblewrap (Debian's `bubblewrap`, the jail Flatpak uses) gives the zygote, and so every slot
and program process forked from it:
- a mount namespace whose root is an empty tmpfs with, read-only, only /usr (and the /bin, /lib
  ... links or folders), the dynamic loader's cache, the Python runtime, the virtual environment
  and the `arcfarm` package; a fresh /tmp (a tmpfs of TMP_BYTES, shared by the slots' temp dirs),
  a minimal /dev, and a /proc of its own pid namespace.
  The repository, `.arcfarm/`, /etc, /root, /home and every task file are simply not there.
  Folders leading to those paths are made 0755 in the new root, so the sandbox uid can reach a
  runtime that lives under a private home (e.g. pyenv under /root);
- pid, network (a loopback that is down), ipc and uts namespaces: no other process is visible
  or reachable, no network exists;
- only the capabilities the zygote and slots need (switching to the sandbox uid, making and
  removing the programs' temp dirs, killing their own programs); program processes drop all.

It costs about 10 ms once per executor (the zygote start), nothing per program. Used when the
executor runs as root and `bwrap` is installed (`make venv` / .ci/run install it); elsewhere
the layer is reported missing (it is extra depth: Landlock and seccomp hold without it).
"""
from __future__ import annotations

import os
import shutil

CAPABILITIES = ("CAP_SETUID", "CAP_SETGID", "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FOWNER", "CAP_KILL")
TOP_LEVEL_LINKS = ("/bin", "/sbin", "/lib", "/lib64", "/lib32", "/libx32")
ALWAYS_BOUND = ("/usr", "/etc/ld.so.cache")
# The programs' temp dirs live in this tmpfs (memory): its size bounds what they can write at once.
TMP_BYTES = 512 * 1024 * 1024


def bwrap_path() -> str | None:
    return shutil.which("bwrap")


def _inside(path: str, root: str) -> bool:
    return path == root or path.startswith(root.rstrip("/") + "/")


def command(visible: list[str]) -> list[str]:
    """bwrap and its options, to be followed by the zygote's own command line. `visible` are the
    paths (files or folders) the zygote needs besides /usr: runtime, venv, package, common."""
    bwrap = bwrap_path()
    if bwrap is None:
        raise FileNotFoundError("bwrap")
    args = [bwrap, "--unshare-pid", "--unshare-net", "--unshare-ipc", "--unshare-uts",
            "--unshare-cgroup-try", "--cap-drop", "ALL"]
    for cap in CAPABILITIES:
        args += ["--cap-add", cap]
    for path in ALWAYS_BOUND:
        if os.path.exists(path):
            args += ["--ro-bind", path, path]
    for link in TOP_LEVEL_LINKS:
        if os.path.islink(link):
            args += ["--symlink", os.readlink(link), link]
        elif os.path.isdir(link):
            args += ["--ro-bind", link, link]
    made: set[str] = {"/"}
    bound = [p for p in ALWAYS_BOUND]
    for path in sorted({os.path.realpath(p) for p in visible}):
        if any(_inside(path, b) for b in bound):
            continue
        parts = path.strip("/").split("/")[:-1]
        for i in range(len(parts)):
            folder = "/" + "/".join(parts[: i + 1])
            if folder not in made:
                args += ["--perms", "0755", "--dir", folder]
                made.add(folder)
        args += ["--ro-bind", path, path]
        bound.append(path)
    return args + ["--dev", "/dev", "--proc", "/proc", "--size", str(TMP_BYTES), "--tmpfs", "/tmp",
                   "--chdir", "/"]
