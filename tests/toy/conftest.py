"""Shared fixtures for the toy-model tests: one small synthetic data set per session."""
from __future__ import annotations

import pytest

from arcfarm.toy.synth import heldout_path, load_jsonl, synthesize


@pytest.fixture(scope="session")
def toy_data(tmp_path_factory):
    """60 training tasks and 20 held-out tasks, generated once (seed 7)."""
    out = tmp_path_factory.mktemp("toy-data") / "train.jsonl"
    stats = synthesize(60, out, heldout=20, seed=7, workers=1)
    return {"train": out, "heldout": heldout_path(out), "stats": stats,
            "train_tasks": load_jsonl(out), "heldout_tasks": load_jsonl(heldout_path(out))}
