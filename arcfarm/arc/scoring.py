"""Scoring programs on train pairs, choosing two attempts per test input, and ARC Prize scoring.
(The submission file is built from the stored attempts: arcfarm.db.reads.submission.)

Attempt selection (`select_attempts`) ranks the outputs that candidate programs give for one test
input: programs passing every train pair first, then by train pairs solved; inside such a group
the output given by most programs wins, ties going to the output whose shortest program is
shortest (Occam), then to the output seen first. The first two distinct grids are the attempts.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np

Grid = np.ndarray


def _key(grid: Grid) -> tuple[tuple[int, ...], bytes]:
    """A hashable identity for a grid: shape plus int64 bytes."""
    arr = np.ascontiguousarray(grid, dtype=np.int64)
    return arr.shape, arr.tobytes()


def _same(a: Grid, b: Grid) -> bool:
    return np.asarray(a).shape == np.asarray(b).shape and bool(np.array_equal(a, b))


def fingerprint(outputs: Sequence[Grid | None]) -> str | None:
    """sha256 hex over the shapes and cells of all outputs, in order; None if any output is None."""
    digest = hashlib.sha256()
    for grid in outputs:
        if grid is None:
            return None
        shape, data = _key(grid)
        digest.update(f"{shape}:".encode())  # the shape keeps (1, 4) and (2, 2) apart
        digest.update(data)
    return digest.hexdigest()


@dataclass
class ProgramScore:
    train_correct: int
    train_total: int
    passes_train: bool
    pixel_score: float  # mean over train pairs of the fraction of equal cells (0 on a shape mismatch)


def score_train(expected: Sequence[Grid], outputs: Sequence[Grid | None]) -> ProgramScore:
    """Compare a program's train outputs (None = failed) with the expected ones."""
    if len(expected) != len(outputs):
        raise ValueError(f"score_train: {len(outputs)} outputs for {len(expected)} train pairs")
    correct, pixels = 0, 0.0
    for want, got in zip(expected, outputs):
        if got is None or np.asarray(got).shape != np.asarray(want).shape:
            continue
        equal = np.asarray(got) == np.asarray(want)
        correct += bool(equal.all())
        pixels += float(equal.mean())
    total = len(expected)
    return ProgramScore(correct, total, total > 0 and correct == total, pixels / total if total else 0.0)


@dataclass
class Candidate:
    """One program's standing on the train pairs and its (un-augmented) test outputs."""

    code: str
    train_correct: int
    passes_train: bool
    test_outputs: list[Grid | None]


@dataclass
class _Vote:
    grid: Grid
    count: int
    shortest: int
    first: int


def _ranked_outputs(candidates: Sequence[Candidate], t: int) -> list[Grid]:
    """Outputs for test input t, best first (see the module docstring for the order)."""
    groups: dict[tuple[bool, int], dict[Any, _Vote]] = {}
    for i, cand in enumerate(candidates):
        grid = cand.test_outputs[t]
        if grid is None:
            continue
        votes = groups.setdefault((cand.passes_train, cand.train_correct), {})
        vote = votes.setdefault(_key(grid), _Vote(grid, 0, len(cand.code), i))
        vote.count += 1
        vote.shortest = min(vote.shortest, len(cand.code))
    ranked = []
    for group in sorted(groups, reverse=True):  # passes_train True first, then train_correct desc
        ranked += [v.grid for v in sorted(groups[group].values(), key=lambda v: (-v.count, v.shortest, v.first))]
    return ranked


def select_attempts(candidates: Sequence[Candidate], n_test: int) -> list[list[Grid]]:
    """Per test input, up to two distinct grids: attempt 1 then attempt 2."""
    for i, cand in enumerate(candidates):
        if len(cand.test_outputs) != n_test:
            raise ValueError(f"candidate {i}: {len(cand.test_outputs)} test outputs, expected {n_test}")
    attempts = []
    for t in range(n_test):
        chosen: list[Grid] = []
        for grid in _ranked_outputs(candidates, t):
            if len(chosen) == 2:
                break
            if not any(_same(grid, c) for c in chosen):
                chosen.append(grid)
        attempts.append(chosen)
    return attempts


def any_attempt_correct(attempts: Sequence[Grid | None], solution: Grid) -> bool:
    """ARC Prize's rule for one test input: attempt 1 or attempt 2 equals the solution (shape
    and cells); later attempts do not count, a missing one (None) is wrong."""
    return any(a is not None and _same(a, solution) for a in attempts[:2])


def task_score(attempts: Sequence[Sequence[Grid]], solutions: Sequence[Grid]) -> float:
    """ARC Prize score of one task: the fraction of test inputs solved by attempt 1 or 2."""
    if not solutions or len(attempts) != len(solutions):
        raise ValueError(f"task_score: {len(attempts)} attempt lists for {len(solutions)} solutions")
    solved = sum(any_attempt_correct(tries, want) for tries, want in zip(attempts, solutions))
    return solved / len(solutions)
