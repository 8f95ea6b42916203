"""What every benchmark result records about where and when it ran: CPU model, GPU and library
versions, git commit, date."""
from __future__ import annotations

import os
import subprocess
from datetime import datetime, timezone
from pathlib import Path


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return "unknown"


def git_commit() -> str:
    """ARCFARM_GIT_COMMIT when set (the GPU machines get a copy of the tree whose .git, if any, may
    be stale), else HEAD of the checkout this code runs from."""
    if os.environ.get("ARCFARM_GIT_COMMIT"):
        return os.environ["ARCFARM_GIT_COMMIT"]
    try:
        out = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True, timeout=10,
                             cwd=Path(__file__).resolve().parent)
        if out.returncode == 0 and out.stdout.strip():
            return out.stdout.strip()
    except (OSError, subprocess.SubprocessError):
        pass
    return "unknown"


def today() -> str:
    """The day a measurement was taken (UTC); result file names keep their own series date."""
    return datetime.now(timezone.utc).date().isoformat()


def software() -> dict[str, str | None]:
    """The GPU (None without CUDA) and the versions of the libraries a model run depends on (None
    for one not installed)."""
    from importlib.metadata import PackageNotFoundError, version

    out: dict[str, str | None] = {"gpu": None}
    try:
        import torch

        if torch.cuda.is_available():
            out["gpu"] = torch.cuda.get_device_name(0)
    except ImportError:
        pass
    for name in ("torch", "transformers", "peft", "trl"):
        try:
            out[name] = version(name)
        except PackageNotFoundError:
            out[name] = None
    return out
