"""What the search-and-learn loop reports: one record per prediction, per epoch, per task.

These plain dataclasses are the contract between the loop (arcfarm.learn.loop) and whoever
persists or prints its results (the farm's database writer, `arcfarm solve --json`). Grids are
numpy arrays here; `to_json` turns them into nested lists.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np


def _grid_json(grid: np.ndarray | None) -> list[list[int]] | None:
    return None if grid is None else np.asarray(grid).tolist()


@dataclass
class PredictionRecord:
    """One sampled program, executed and scored. Outputs are un-augmented (task space)."""

    epoch: int
    sample_index: int  # unique within the task run, counts across epochs
    augmentation: dict[str, Any]  # Augmentation.to_json()
    prompt_tokens: int
    completion_tokens: int
    response: str
    code: str
    code_hash: str
    train_outputs: list[np.ndarray | None]
    test_outputs: list[np.ndarray | None]
    grid_errors: list[str | None]  # per grid, train inputs then test inputs
    error: str | None  # first failure's class (see sandbox) or None
    error_message: str | None
    train_correct: int
    train_total: int
    pixel_score: float
    passes_train: bool
    fingerprint: str | None  # hash of all un-augmented outputs; None unless all are valid
    seconds: float = 0.0

    @property
    def valid(self) -> bool:
        return self.fingerprint is not None

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["train_outputs"] = [_grid_json(g) for g in self.train_outputs]
        data["test_outputs"] = [_grid_json(g) for g in self.test_outputs]
        return data


@dataclass
class EpochRecord:
    """One round of the loop. Epoch 0 is the initial search (no training before it)."""

    epoch: int
    predictions: int
    valid: int  # predictions whose outputs are valid on every input
    unique_outputs: int  # distinct fingerprints among valid predictions
    relabeled: int  # training examples built before this epoch's sampling (0 for epoch 0)
    train_loss: float | None
    train_error: str | None  # e.g. "OutOfMemoryError: ..." when training failed and was skipped
    best_train_correct: int
    passes_train: int  # predictions that pass every train pair
    sample_s: float
    execute_s: float
    relabel_s: float
    train_s: float
    reset_s: float  # adapter reset / swap / hand-over to the sampler
    train_tokens: int = 0
    sample_warning: str | None = None  # what the engine worked around while sampling (compile fallback)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class TaskResult:
    """The final answer for one task: attempts per test input and the records behind them."""

    task_id: str
    epochs: list[EpochRecord] = field(default_factory=list)
    attempts: list[list[np.ndarray]] = field(default_factory=list)  # per test input, <= 2 grids
    score: float | None = None  # None when no solutions are known
    stop_reason: str = "max_epochs"
    seconds: float = 0.0

    def to_json(self) -> dict[str, Any]:
        return {
            "task_id": self.task_id,
            "epochs": [e.to_json() for e in self.epochs],
            "attempts": [[_grid_json(g) for g in per_test] for per_test in self.attempts],
            "score": self.score,
            "stop_reason": self.stop_reason,
            "seconds": self.seconds,
        }
