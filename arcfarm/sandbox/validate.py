"""Checks that a value returned by `transform` is an ARC grid, and says why when it is not.

A grid is a 2-D array of integers 0..9 with each side 1..30. Accepted: numpy arrays of an
integer dtype, and lists/tuples of rows (lists, tuples or 1-D integer arrays) of Python or
numpy ints. Rejected, with a reason: bools, floats (NaN named as such), strings, None,
ragged rows, other dimensions, oversized sides, colours outside 0..9. Sizes are checked
before values, so a 5000x5000 answer is refused without scanning it.
"""
from __future__ import annotations

from typing import Any

import numpy as np

MAX_SIDE = 30


def check_output(value: Any) -> tuple[np.ndarray | None, str | None]:
    """(grid as int64, None) if `value` is a valid grid, else (None, reason)."""
    if isinstance(value, np.ndarray):
        # A base-class view (no copy): an ndarray subclass could lie in min()/max(). The
        # executor re-checks the bytes anyway; this is for an honest error message.
        return _check_array(value.view(np.ndarray))
    if isinstance(value, (list, tuple)):
        problem = _check_rows(value)
        if problem:
            return None, problem
        try:
            array = np.array(value, dtype=np.int64)
        except (OverflowError, ValueError, TypeError):
            return None, "values outside 0..9"
        return _check_array(array)
    return None, f"output is {type(value).__name__}, not a grid"


def _side_problem(n: int) -> str | None:
    if n < 1:
        return "empty side"
    if n > MAX_SIDE:
        return f"side {n} > {MAX_SIDE}"
    return None


def _check_rows(rows: list | tuple) -> str | None:
    problem = _side_problem(len(rows))
    if problem:
        return problem
    width = None
    for i, row in enumerate(rows):
        if isinstance(row, np.ndarray):
            if row.ndim != 1:
                return f"not 2-D (row {i} has ndim={row.ndim})"
            if row.dtype.kind not in "iu":
                return f"row {i} has dtype {row.dtype}, not integer"
        elif isinstance(row, (list, tuple)):
            for cell in row:
                if isinstance(cell, (bool, np.bool_)) or not isinstance(cell, (int, np.integer)):
                    return f"non-integer value {type(cell).__name__} in row {i}"
        else:
            return f"not 2-D (row {i} is {type(row).__name__})"
        if width is None:
            width = len(row)
            problem = _side_problem(width)
            if problem:
                return problem
        elif len(row) != width:
            return f"ragged rows: row {i} has {len(row)} cells, row 0 has {width}"
    return None


def _check_array(array: np.ndarray) -> tuple[np.ndarray | None, str | None]:
    if array.ndim != 2:
        return None, f"not 2-D (ndim={array.ndim})"
    for n in array.shape:
        problem = _side_problem(n)
        if problem:
            return None, problem
    kind = array.dtype.kind
    if kind == "b":
        return None, "bool values, not integers"
    if kind in "fc":
        return None, ("NaN values" if np.isnan(array).any() else f"float dtype {array.dtype}, not integer")
    if kind not in "iu":
        return None, f"dtype {array.dtype} is not an integer type"
    low, high = int(array.min()), int(array.max())
    if low < 0 or high > 9:
        return None, f"values outside 0..9 (min {low}, max {high})"
    return np.array(array, dtype=np.int64), None
