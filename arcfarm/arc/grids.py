"""ARC grids: validated conversion between JSON (lists of rows) and read-only int64 numpy arrays.

A grid is a 2-D `numpy.ndarray` of dtype int64 with values 0..9 and each side 1..30. Grids made
here are read-only, so nobody can mutate a task by accident; copy one (`grid.copy()`) to edit it.
Every validation failure is a `TaskError` whose message starts with the caller's `where`, which
names the task and the field, e.g. `task 'abc': train[1].output: row 2 has 3 cells, row 0 has 4`.
"""
from __future__ import annotations

from typing import Any

import numpy as np

MAX_SIDE = 30
NUM_COLORS = 10


class TaskError(ValueError):
    """Bad task data; the message names the task (or file) and the field."""


def _kind(value: Any) -> str:
    return type(value).__name__


def _check_cells(obj: list, where: str) -> None:
    """Raise on the first cell that is not a plain int (bool is an int subclass: reject it) or is
    not a colour 0..9 (checked here, before numpy would overflow on an int past 64 bits)."""
    for r, row in enumerate(obj):
        if all(type(v) is int and 0 <= v < NUM_COLORS for v in row):
            continue
        for c, v in enumerate(row):
            if type(v) is not int:
                raise TaskError(f"{where}: row {r}, column {c}: {v!r} is a {_kind(v)}, not an integer")
            if not 0 <= v < NUM_COLORS:
                shown = str(v) if abs(v) < 10**12 else f"of {len(str(abs(v)))} digits"
                raise TaskError(f"{where}: row {r}, column {c}: value {shown} is outside 0..{NUM_COLORS - 1}")


def _check_shape(obj: Any, where: str) -> None:
    if not isinstance(obj, list):
        raise TaskError(f"{where}: expected a list of rows, got {_kind(obj)}")
    if not 1 <= len(obj) <= MAX_SIDE:
        raise TaskError(f"{where}: has {len(obj)} rows, a side must be 1..{MAX_SIDE}")
    for r, row in enumerate(obj):
        if not isinstance(row, list):
            raise TaskError(f"{where}: row {r} is a {_kind(row)}, not a list of cells")
        if len(row) != len(obj[0]):
            raise TaskError(f"{where}: row {r} has {len(row)} cells, row 0 has {len(obj[0])}")
    if not 1 <= len(obj[0]) <= MAX_SIDE:
        raise TaskError(f"{where}: rows have {len(obj[0])} cells, a side must be 1..{MAX_SIDE}")


def grid_from_json(obj: Any, where: str) -> np.ndarray:
    """Validate a JSON grid (list of rows of ints) and return it as a read-only int64 array.

    `where` prefixes every error message; pass the task and field, e.g. "task 'abc': test[0].input".
    A numpy array is accepted too (it is checked the same way, via its nested-list form).
    """
    if isinstance(obj, np.ndarray):
        obj = obj.tolist()
    _check_shape(obj, where)
    _check_cells(obj, where)
    grid = np.array(obj, dtype=np.int64)
    grid.flags.writeable = False
    return grid


def grid_to_json(grid: np.ndarray) -> list[list[int]]:
    """A grid as nested lists of Python ints (what ARC JSON files hold)."""
    return np.asarray(grid, dtype=np.int64).tolist()


def frozen_grid(grid: Any) -> np.ndarray:
    """A read-only int64 2-D copy of `grid` (no copy if it already is one). No value checks."""
    if (isinstance(grid, np.ndarray) and grid.dtype == np.int64 and grid.ndim == 2
            and not grid.flags.writeable and grid.flags.c_contiguous):
        return grid
    out = np.array(grid, dtype=np.int64, order="C")
    if out.ndim != 2:
        raise ValueError(f"a grid must be 2-D, got shape {out.shape}")
    out.flags.writeable = False
    return out
