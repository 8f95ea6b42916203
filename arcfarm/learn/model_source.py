"""Where a config's `model` points: a local directory, a hub id, or `builtin:tiny`.

A relative directory is looked up from the working directory, then from the repository root, so
`model: models/toy` (the committed toy model) works from anywhere in a checkout.

`builtin:tiny` is the random-init test model (arcfarm.learn.tiny_model), built on first use under
$ARCFARM_HOME/models/tiny (default ./.arcfarm) so a fresh machine needs no download.
"""
from __future__ import annotations

import os
from pathlib import Path

BUILTIN_PREFIX = "builtin:"
REPO_ROOT = Path(__file__).resolve().parents[2]


def arcfarm_home() -> Path:
    return Path(os.environ.get("ARCFARM_HOME", ".arcfarm")).resolve()


def resolve_model_path(name: str) -> str:
    if not name.startswith(BUILTIN_PREFIX):
        in_repo = REPO_ROOT / name
        if not Path(name).exists() and not Path(name).is_absolute() and in_repo.is_dir():
            return str(in_repo)
        return name
    which = name[len(BUILTIN_PREFIX):]
    if which != "tiny":
        raise ValueError(f"unknown builtin model {name!r} (known: builtin:tiny)")
    target = arcfarm_home() / "models" / "tiny"
    if not (target / "config.json").exists():
        from arcfarm.learn.tiny_model import make_tiny_model

        make_tiny_model(target)
    return str(target)
