"""Where a config's `model` points: a local directory, a hub id, or `builtin:tiny`.

`builtin:tiny` is the random-init test model (arcfarm.core.tiny_model), built on first use under
$ARCFARM_HOME/models/tiny (default ./.arcfarm) so a fresh machine needs no download.
"""
from __future__ import annotations

import os
from pathlib import Path

BUILTIN_PREFIX = "builtin:"


def arcfarm_home() -> Path:
    return Path(os.environ.get("ARCFARM_HOME", ".arcfarm")).resolve()


def resolve_model_path(name: str) -> str:
    if not name.startswith(BUILTIN_PREFIX):
        return name
    which = name[len(BUILTIN_PREFIX):]
    if which != "tiny":
        raise ValueError(f"unknown builtin model {name!r} (known: builtin:tiny)")
    target = arcfarm_home() / "models" / "tiny"
    if not (target / "config.json").exists():
        from arcfarm.core.tiny_model import make_tiny_model

        make_tiny_model(target)
    return str(target)
