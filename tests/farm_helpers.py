"""Helpers of the farm tests (imported by them; fixtures live in conftest.py)."""
from __future__ import annotations

import time
from pathlib import Path

import pytest
import sqlalchemy as sa

TABLES = ("runs", "tasks", "solutions", "jobs", "epochs", "predictions", "adapters", "attempts")

# Two small tasks with known test outputs (so scoring and test_correct are exercised).
TASKS = {
    "flip": {"train": [{"input": [[1, 2], [3, 4]], "output": [[2, 1], [4, 3]]},
                       {"input": [[5, 6]], "output": [[6, 5]]}],
             "test": [{"input": [[7, 8]], "output": [[8, 7]]}]},
    "same": {"train": [{"input": [[1, 1], [0, 0]], "output": [[1, 1], [0, 0]]}],
             "test": [{"input": [[2, 0]], "output": [[2, 0]]}, {"input": [[3]], "output": [[3]]}]},
}


def tiny_overrides(model_dir: Path) -> dict:
    """configs/tiny-cpu.yaml made smaller still: 2 epochs (0 and 1) of a few short samples."""
    return {"model": str(model_dir), "initial_predictions": 2, "predictions_per_epoch": 2,
            "samples_per_prompt": 2, "max_epochs": 1, "max_new_tokens": 32, "exec_workers": 1,
            "time_budget_s": 300}


def row_counts(session_factory) -> dict[str, int]:
    with session_factory() as s:
        return {t: s.execute(sa.text(f"SELECT COUNT(*) FROM {t}")).scalar_one() for t in TABLES}


def wait_for(condition, timeout: float, what: str, log: Path | None = None):
    """Poll `condition()` until it returns something truthy; fail with `what` after `timeout` s."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.5)
    tail = log.read_text()[-4000:] if log is not None and log.exists() else ""
    pytest.fail(f"timed out after {timeout:.0f}s waiting for {what}\n{tail}")
