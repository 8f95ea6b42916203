"""Which isolation layers this machine gives, checked by trying them; the strict/weak policy.

Layers (each stops things the others may not; README "The sandbox" has the table):
- `namespaces`: the zygote runs in bubblewrap with private mount, pid, network, ipc and uts
  namespaces, seeing only the Python runtime, its libraries and the `arcfarm` package;
- `user`: program processes drop to an unprivileged uid/gid (ARCFARM_SANDBOX_UID/GID, default
  65534) when the executor runs as root; not root: they already are unprivileged;
- `landlock`: file system and TCP rules, signal and abstract-socket scopes (landlock_rules.py);
- `seccomp`: the system-call allow-list (seccomp_filter.py), which also means no sockets.

`user`, `landlock` and `seccomp` are required: without one of them the executor refuses to
start unless ARCFARM_SANDBOX=weak (or `Executor(sandbox="weak")`) says to go on, and the level
it reports is then "weak". `namespaces` is extra depth: reported, never required.

Availability is decided by trying, not by version numbers: the zygote forks a probe process
that confines itself with every planned layer and checks that each one holds (a file outside the
rules is refused, socket() is refused, the uid changed) and that the runtime still works (a stdlib
module imports, its temp dir is writable). A kernel that accepts a call but does not enforce it
(as a gVisor-style kernel may) is thus reported as missing, not trusted.
"""
from __future__ import annotations

import json
import os
import shutil
import sys
import tempfile
from dataclasses import dataclass, field

from arcfarm.sandbox import confine, landlock_rules, limits, seccomp_filter
from arcfarm.sandbox.errors import SandboxUnavailable

ALL_LAYERS = ("namespaces", "user", "landlock", "seccomp")
REQUIRED = ("user", "landlock", "seccomp")
MODES = ("strict", "weak")
DEFAULT_UID = 65534
PROBE_MODULES = ("colorsys", "fractions", "statistics", "bisect", "textwrap", "difflib", "sched",
                 "graphlib", "wave", "chunk", "tomllib", "zipapp")


@dataclass
class Isolation:
    """What protects programs: each layer in force with a short description, each missing one
    with the reason; `level` is "strict" when every required layer holds, else "weak"."""

    active: dict[str, str] = field(default_factory=dict)
    missing: dict[str, str] = field(default_factory=dict)

    @property
    def level(self) -> str:
        return "strict" if all(layer in self.active for layer in REQUIRED) else "weak"

    def summary(self) -> str:
        """One line, e.g. for the jobs table: "strict: namespaces, user, landlock, seccomp"."""
        text = f"{self.level}: {', '.join(self.active) or 'no layers'}"
        if self.missing:
            text += f" (missing: {', '.join(self.missing)})"
        return text

    def to_json(self) -> dict:
        return {"level": self.level, "active": self.active, "missing": self.missing}

    @classmethod
    def from_json(cls, data: dict) -> Isolation:
        return cls(dict(data["active"]), dict(data["missing"]))


def mode_from_env(mode: str | None) -> str:
    mode = mode or os.environ.get("ARCFARM_SANDBOX") or "strict"
    if mode not in MODES:
        raise ValueError(f"ARCFARM_SANDBOX / sandbox= must be one of {MODES}, not {mode!r}")
    return mode


def enforce(iso: Isolation, mode: str) -> None:
    """Raise SandboxUnavailable, naming each missing required layer and why, unless weak mode."""
    if mode == "strict" and iso.level != "strict":
        missing = "; ".join(f"{k}: {v}" for k, v in iso.missing.items() if k in REQUIRED)
        raise SandboxUnavailable(
            f"refusing to run untrusted programs: sandbox layer(s) missing — {missing}. "
            "Set ARCFARM_SANDBOX=weak (or Executor(sandbox='weak')) to run with less isolation.")


def sandbox_ids() -> tuple[int, int]:
    uid = int(os.environ.get("ARCFARM_SANDBOX_UID", DEFAULT_UID))
    gid = int(os.environ.get("ARCFARM_SANDBOX_GID", uid))
    if uid == 0 or gid == 0:
        raise ValueError("ARCFARM_SANDBOX_UID/GID must not be 0")
    return uid, gid


def prepare(wanted: set[str], memory_mb: int, package_root: str, jail: str | None,
            ids: tuple[int, int], tmp_root: str) -> tuple[confine.Plan, Isolation]:
    """In the zygote: the plan for every program process, and what it is worth."""
    plan = confine.Plan(memory_mb=memory_mb, read_only=landlock_rules.runtime_paths(package_root))
    iso = Isolation()
    if "namespaces" in wanted:
        if jail:
            iso.active["namespaces"] = jail
        else:
            iso.missing["namespaces"] = "not started in bubblewrap (needs root and the bwrap command)"
    _plan_user(plan, iso, wanted, ids)
    _plan_landlock(plan, iso, wanted)
    _plan_seccomp(plan, iso, wanted)
    for layer in ALL_LAYERS:
        if layer not in wanted and layer not in iso.active:
            iso.missing.setdefault(layer, "switched off by the caller")
    _verify(plan, iso, tmp_root)
    return plan, iso


def _plan_user(plan: confine.Plan, iso: Isolation, wanted: set[str], ids: tuple[int, int]) -> None:
    if "user" not in wanted:
        return
    if os.geteuid() != 0:
        iso.active["user"] = f"uid {os.geteuid()} (not root: nothing to switch from)"
        return
    plan.uid, plan.gid = ids
    iso.active["user"] = f"uid {plan.uid}, gid {plan.gid} (switched from root)"


def _plan_landlock(plan: confine.Plan, iso: Isolation, wanted: set[str]) -> None:
    if "landlock" not in wanted:
        return
    try:
        abi = landlock_rules.abi_version()
    except (ImportError, OSError) as exc:
        iso.missing["landlock"] = f"unavailable: {exc}"
        return
    if abi < landlock_rules.MIN_ABI:
        iso.missing["landlock"] = (f"kernel Landlock ABI {abi} < {landlock_rules.MIN_ABI}"
                                   if abi else "not supported by this kernel")
        return
    plan.landlock = True
    iso.active["landlock"] = f"ABI {abi}"


def _plan_seccomp(plan: confine.Plan, iso: Isolation, wanted: set[str]) -> None:
    if "seccomp" not in wanted:
        return
    try:
        plan.seccomp = seccomp_filter.Compiled(seccomp_filter.build())  # once for every slot
    except (ImportError, OSError, AttributeError, RuntimeError) as exc:
        iso.missing["seccomp"] = f"unavailable (libseccomp / pyseccomp): {exc}"
        return
    iso.active["seccomp"] = f"allow-list of {len(seccomp_filter.ALLOWED)} calls + argument rules"


def _verify(plan: confine.Plan, iso: Isolation, tmp_root: str) -> None:
    """Probe the plan; a layer whose check fails is moved to `missing` and left out of the plan.
    A runtime that stops working under the user switch drops the switch (reported)."""
    report = _probe(plan, tmp_root)
    if "error" in report and plan.uid is not None:
        plan.uid = plan.gid = None
        iso.active.pop("user", None)
        iso.missing["user"] = (f"the sandbox uid cannot use the Python runtime here ({report['error']}); "
                               "install bubblewrap (the zygote then runs in its own mount namespace) "
                               "or a Python that every user can read")
        report = _probe(plan, tmp_root)
    if "error" in report:
        raise RuntimeError(f"a confined probe process failed: {report['error']}")
    checks = {"user": report["uid"] == plan.uid, "landlock": report["outside_refused"],
              "seccomp": report["seccomp_mode"] == 2 and report["socket_refused"]}
    for layer, holds in checks.items():
        if layer == "user" and plan.uid is None:
            continue
        if layer in iso.active and not holds:
            iso.missing[layer] = "set up, but the probe got through it (not enforced by this kernel)"
            iso.active.pop(layer)


def _probe(plan: confine.Plan, tmp_root: str) -> dict:
    tmp = tempfile.mkdtemp(prefix="probe-", dir=tmp_root)
    if plan.uid is not None:
        os.chown(tmp, plan.uid, plan.gid)
    read_fd, write_fd = os.pipe()
    try:
        rules = landlock_rules.ruleset(plan.read_only, tmp) if plan.landlock else None
    except BaseException as exc:  # noqa: BLE001 - reported like a failed probe
        os.close(read_fd)
        os.close(write_fd)
        shutil.rmtree(tmp, ignore_errors=True)
        return {"error": f"preparing the layers failed: {type(exc).__name__}: {exc}"}
    prepared = confine.Prepared(tmp, rules, limits.address_space_now())
    pid = os.fork()
    if pid == 0:
        os.close(read_fd)
        _probe_child(plan, prepared, write_fd)
    os.close(write_fd)
    if rules is not None:
        rules.close()
    with os.fdopen(read_fd, "rb") as f:
        data = f.read(65536)
    os.waitpid(pid, 0)
    shutil.rmtree(tmp, ignore_errors=True)
    try:
        return json.loads(data)
    except ValueError:
        return {"error": "the probe process died without a report"}


def _probe_child(plan: confine.Plan, prepared: confine.Prepared, fd: int) -> None:
    import ctypes
    import importlib
    import socket
    report: dict = {}
    try:
        limits.apply_rlimits(plan.memory_mb, limits.address_space_now(), memory=False)  # as a slot does
        confine.settle_in(prepared.tmp)
        confine.confine(plan, prepared, fd, os.getppid())
        fresh = next((m for m in PROBE_MODULES if m not in sys.modules), None)
        if fresh:
            importlib.import_module(fresh)  # the runtime is still readable
        with open(os.path.join(prepared.tmp, "probe"), "w") as f:
            f.write("ok")
        report["uid"] = os.getuid() if plan.uid is not None else None
        try:
            open("/proc/self/status").close()
            report["outside_refused"] = False
        except PermissionError:
            report["outside_refused"] = True
        try:
            socket.socket(socket.AF_INET, socket.SOCK_STREAM).close()
            report["socket_refused"] = False
        except PermissionError:
            report["socket_refused"] = True
        report["seccomp_mode"] = ctypes.CDLL(None).prctl(21, 0, 0, 0, 0)  # PR_GET_SECCOMP
    except BaseException as exc:  # noqa: BLE001 - reported to the zygote
        report = {"error": f"{type(exc).__name__}: {exc}"}
    os.write(fd, json.dumps(report).encode())
    os._exit(0)
