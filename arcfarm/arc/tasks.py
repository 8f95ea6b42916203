"""ARC tasks: `Task`/`Pair` records and `parse_task`, the validating reader of one task's JSON.

A task JSON object is `{"train": [{"input": grid, "output": grid}, ...], "test": [{"input": grid,
"output"?: grid}, ...]}`. `parse_task` splits it into a `Task` (train pairs and test inputs) and
the test outputs ("solutions"), which never live on the Task: whatever is handed to the search
and the model cannot leak the answer. Every error is a `TaskError` naming the task and the field.
"""
from __future__ import annotations

import hashlib
import json
import random
from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np

from arcfarm.arc.grids import TaskError, frozen_grid, grid_from_json, grid_to_json


@dataclass(frozen=True, eq=False)
class Pair:
    """One train example. Grids are read-only int64 arrays."""

    input: np.ndarray
    output: np.ndarray

    def __post_init__(self) -> None:
        object.__setattr__(self, "input", frozen_grid(self.input))
        object.__setattr__(self, "output", frozen_grid(self.output))

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Pair):
            return NotImplemented
        return np.array_equal(self.input, other.input) and np.array_equal(self.output, other.output)

    def __hash__(self) -> int:
        return hash((self.input.shape, self.input.tobytes(), self.output.shape, self.output.tobytes()))


@dataclass(frozen=True, eq=False)
class Task:
    """An ARC task without its test outputs. Equal tasks have equal ids and equal grids."""

    id: str
    train: tuple[Pair, ...]
    test_inputs: tuple[np.ndarray, ...]

    def __post_init__(self) -> None:
        # Accept lists from callers, store tuples so the record stays immutable.
        object.__setattr__(self, "train", tuple(self.train))
        object.__setattr__(self, "test_inputs", tuple(frozen_grid(g) for g in self.test_inputs))

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Task):
            return NotImplemented
        return (self.id == other.id and self.train == other.train
                and len(self.test_inputs) == len(other.test_inputs)
                and all(np.array_equal(a, b) for a, b in zip(self.test_inputs, other.test_inputs)))

    def __hash__(self) -> int:
        return hash((self.id, self.content_hash()))

    def to_json(self) -> dict[str, Any]:
        """The task as ARC JSON, never with test outputs."""
        return {
            "train": [{"input": grid_to_json(p.input), "output": grid_to_json(p.output)} for p in self.train],
            "test": [{"input": grid_to_json(g)} for g in self.test_inputs],
        }

    def content_hash(self) -> str:
        """sha256 hex of the canonical JSON of the grids (the id is not part of it)."""
        text = json.dumps(self.to_json(), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(text.encode()).hexdigest()

    def all_inputs(self) -> tuple[np.ndarray, ...]:
        """Train inputs in order, then test inputs in order (what a program is run on)."""
        return tuple(p.input for p in self.train) + self.test_inputs


def shuffled_pairs(task: Task, seed: int) -> Task:
    """The same task with its train pairs in a random order fixed by `seed` (for prompts only:
    programs are still run and scored on the task's own order)."""
    order = list(range(len(task.train)))
    random.Random(seed).shuffle(order)
    return Task(task.id, tuple(task.train[i] for i in order), task.test_inputs)


def _entries(task_id: str, obj: dict, key: str) -> list:
    if key not in obj:
        raise TaskError(f"task {task_id!r}: {key}: missing")
    entries = obj[key]
    if not isinstance(entries, list):
        raise TaskError(f"task {task_id!r}: {key}: expected a list, got {type(entries).__name__}")
    for i, entry in enumerate(entries):
        if not isinstance(entry, dict):
            raise TaskError(f"task {task_id!r}: {key}[{i}]: expected an object, got {type(entry).__name__}")
    return entries


def _grid(task_id: str, entry: dict, field: str) -> np.ndarray:
    """entry[name] as a grid, where field is the full path, e.g. "train[1].output"."""
    name = field.rsplit(".", 1)[1]
    if name not in entry:
        raise TaskError(f"task {task_id!r}: {field}: missing")
    return grid_from_json(entry[name], f"task {task_id!r}: {field}")


def parse_task(task_id: str, obj: Any) -> tuple[Task, list[np.ndarray] | None]:
    """Validate one task's JSON object; return the Task and its test outputs (None unless all exist)."""
    if not isinstance(task_id, str) or not task_id:
        raise TaskError(f"task {task_id!r}: id: must be a non-empty string")
    if not isinstance(obj, dict):
        raise TaskError(f"task {task_id!r}: expected an object with \"train\" and \"test\", "
                        f"got {type(obj).__name__}")
    train_entries = _entries(task_id, obj, "train")
    test_entries = _entries(task_id, obj, "test")
    if not train_entries:
        raise TaskError(f"task {task_id!r}: train: no train pairs")
    if not test_entries:
        raise TaskError(f"task {task_id!r}: test: no test inputs")
    train = tuple(
        Pair(_grid(task_id, e, f"train[{i}].input"), _grid(task_id, e, f"train[{i}].output"))
        for i, e in enumerate(train_entries))
    test_inputs = tuple(_grid(task_id, e, f"test[{i}].input") for i, e in enumerate(test_entries))
    # Validate every output that is present, even when some are missing: bad data is bad data.
    outputs = [_grid(task_id, e, f"test[{i}].output") if "output" in e else None
               for i, e in enumerate(test_entries)]
    solutions = None if any(g is None for g in outputs) else outputs
    return Task(task_id, train, test_inputs), solutions


def task_with_solutions_json(task: Task, solutions: Sequence[np.ndarray]) -> dict[str, Any]:
    """The task's JSON with each test entry's "output" filled in (for writing a full task file)."""
    if len(solutions) != len(task.test_inputs):
        raise TaskError(f"task {task.id!r}: solutions: {len(solutions)} grids for "
                        f"{len(task.test_inputs)} test inputs")
    data = task.to_json()
    for i, (entry, grid) in enumerate(zip(data["test"], solutions)):
        entry["output"] = grid_to_json(grid_from_json(grid, f"task {task.id!r}: solutions[{i}]"))
    return data
