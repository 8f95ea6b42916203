"""Hindsight relabeling: every program that ran becomes a correct solution of its own task.

A sampled program that produced a valid grid for every input of its (augmented) task is, by
construction, a correct solution of the task made of those inputs and its own outputs. That new
task's prompt plus the model's full response is a training example. We build the examples from
PredictionRecords only (un-augmented outputs + the augmentation), so a resumed job relabels the
same way as one that never stopped. Test solutions never enter here: only the program's outputs.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np

from arcfarm.arc.augment import Augmentation
from arcfarm.arc.tasks import Pair, Task
from arcfarm.learn.records import PredictionRecord


@dataclass(frozen=True)
class RelabeledTask:
    task: Task  # augmented inputs, the program's own outputs
    response: str  # the model's full text, answer prefix included
    fingerprint: str


def _frozen(grid: np.ndarray) -> np.ndarray:
    grid = np.array(grid, dtype=np.int64)
    grid.flags.writeable = False
    return grid


def relabel_prediction(task: Task, record: PredictionRecord) -> RelabeledTask | None:
    """The task this prediction solves, in the augmented space its prompt was written in."""
    if not record.valid:
        return None
    return relabel_outputs(task, record.augmentation, record.train_outputs, record.response,
                           record.fingerprint)


def relabel_outputs(task: Task, augmentation: dict, train_outputs: Sequence, response: str,
                    fingerprint: str) -> RelabeledTask:
    """The same from a program's stored parts (a row of the farm's history, say): its
    augmentation, its un-augmented train outputs (all valid), its response and fingerprint."""
    aug = Augmentation.from_json(augmentation)
    aug_task = aug.apply_task(task)
    outputs = [_frozen(aug.apply_grid(np.asarray(g))) for g in train_outputs]
    train = tuple(Pair(p.input, out) for p, out in zip(aug_task.train, outputs))
    new_task = Task(id=f"{task.id}/relabel/{fingerprint[:12]}", train=train,
                    test_inputs=aug_task.test_inputs)
    return RelabeledTask(new_task, response.strip(), fingerprint)


RELABEL_POLICIES = ("new_outputs", "all_valid", "top_k_by_train_score")


def _rank(rec: PredictionRecord) -> tuple:
    """Best first: share of train grids right, pixel score, shorter code."""
    share = rec.train_correct / rec.train_total if rec.train_total else 0.0
    return (-share, -rec.train_correct, -rec.pixel_score, len(rec.code))


def _distinct(records: Sequence[PredictionRecord]) -> list[PredictionRecord]:
    """One record per output fingerprint: the shortest code."""
    best: dict[str, PredictionRecord] = {}
    for rec in records:
        kept = best.get(rec.fingerprint)
        if kept is None or len(rec.code) < len(kept.code):
            best[rec.fingerprint] = rec
    return list(best.values())


def select_for_training(records: Sequence[PredictionRecord], *, seen: set[str] | None = None,
                        cap: int = 0, min_train_correct: int = 0, policy: str = "new_outputs",
                        top_k: int = 8) -> list[PredictionRecord]:
    """The valid predictions to train on, best train score first, by `policy`:

    - `new_outputs`: one per output fingerprint (shortest code wins), skipping fingerprints in
      `seen` (trained on in earlier epochs); the chosen ones are added to `seen`;
    - `all_valid`: every valid prediction, duplicates of an output included, `seen` ignored;
    - `top_k_by_train_score`: the `top_k` best distinct outputs, `seen` ignored (the caller passes
      every prediction of the task so far).
    `cap` > 0 keeps at most that many; `min_train_correct` drops those with fewer train grids right.
    """
    if policy not in RELABEL_POLICIES:
        raise ValueError(f"relabel_policy: expected one of {', '.join(RELABEL_POLICIES)}, got {policy!r}")
    seen = set() if seen is None else seen
    valid = [r for r in records if r.valid and r.train_correct >= min_train_correct]
    if policy == "new_outputs":
        chosen = sorted(_distinct([r for r in valid if r.fingerprint not in seen]), key=_rank)
    elif policy == "all_valid":
        chosen = sorted(valid, key=_rank)
    else:
        chosen = sorted(_distinct(valid), key=_rank)[:top_k]
    if cap:
        chosen = chosen[:cap]
    if policy == "new_outputs":
        seen.update(r.fingerprint for r in chosen)
    return chosen
