"""Paired statistics of an experiment's arms: per-task results of two arms on the same tasks.

`paired_bootstrap(a, b)` resamples tasks with replacement (the same draw for both arms, so the
pairing is kept) and returns the mean difference a - b with its percentile 95% interval.
`pass_curve` is pass@n against predictions spent, from each run's first correct prediction.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np


def paired_bootstrap(a: Sequence[float], b: Sequence[float], *, draws: int = 10000,
                     seed: int = 0, level: float = 0.95) -> tuple[float, float, float]:
    """(mean of a - b, low, high): the percentile interval of the mean paired difference over
    `draws` resamples of the tasks."""
    x, y = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    if x.shape != y.shape or x.ndim != 1 or x.size == 0:
        raise ValueError(f"paired_bootstrap: need two equal-length, non-empty lists of per-task values "
                         f"(got {x.shape} and {y.shape})")
    diff = x - y
    rng = np.random.default_rng(seed)
    picks = rng.integers(0, diff.size, size=(draws, diff.size))
    means = diff[picks].mean(axis=1)
    tail = (1.0 - level) / 2
    low, high = np.quantile(means, [tail, 1.0 - tail])
    return float(diff.mean()), float(low), float(high)


def pass_curve(first_correct: Sequence[int | None], total: int) -> list[float]:
    """Share of runs solved within k predictions, k = 1..total (None = never solved)."""
    if not first_correct:
        return [0.0] * total
    return [sum(f is not None and f <= k for f in first_correct) / len(first_correct)
            for k in range(1, total + 1)]
