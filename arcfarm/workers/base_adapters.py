"""Where a worker finds a run's `base_adapter: training:<id>`: the adapter `arcfarm learn` stored,
fetched once per worker process into a local folder (sha256 checked against the trainings row).

    config = base_adapters.localize(config, db)   # training:3 -> /tmp/arcfarm-base-.../training-3

The Solver then sees a folder, the same for every job of the run, so the model with the adapter
merged is built once and kept (SolverCache compares configs).
"""
from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any, Callable

from arcfarm.db import trainings
from arcfarm.learn.config import RunConfig, training_id
from arcfarm.workers.artifacts import ArtifactStore


class BaseAdapterError(RuntimeError):
    """The training a run starts from is missing or not done."""


class BaseAdapters:
    def __init__(self, artifacts: ArtifactStore):
        self.artifacts = artifacts
        self.root = Path(tempfile.mkdtemp(prefix="arcfarm-base-adapters-"))
        self.local: dict[int, str] = {}

    def localize(self, config: RunConfig, db: Callable[..., Any]) -> RunConfig:
        """`config` with `training:<id>` replaced by the local folder of that adapter."""
        tid = training_id(config.base_adapter)
        if tid is None:
            return config
        if tid not in self.local:
            row = db(trainings.training_row, training_id=tid)
            if row is None or row["status"] != "done":
                state = "does not exist" if row is None else f"is {row['status']}, not done"
                raise BaseAdapterError(f"base_adapter training:{tid} {state}")
            self.local[tid] = self.artifacts.fetch_adapter(
                row["adapter_uri"], row["adapter_sha256"], str(self.root / f"training-{tid}"))
        return config.model_copy(update={"base_adapter": self.local[tid]})
