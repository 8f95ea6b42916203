"""Task augmentations: the 8 dihedral transforms of the square times a permutation of the colours.

An `Augmentation` maps a task to an equivalent task (same rule, seen differently), so one task
gives many prompts and many training examples. Programs written for an augmented task produce
augmented outputs; `invert_grid` maps them back to the task's own frame before scoring.
Background (colour 0) stays 0 unless `permute_background=True`: ARC rules often treat black
as "empty", and BARC programs hard-code `Color.BLACK` as background.
"""
from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np

from arcfarm.arc.grids import NUM_COLORS, frozen_grid
from arcfarm.arc.tasks import Pair, Task

# Index = Augmentation.dihedral. Each is applied to a 2-D array and returns a view.
DIHEDRAL_NAMES = ("identity", "rot90", "rot180", "rot270", "flipud", "fliplr", "transpose", "anti_transpose")
_DIHEDRAL: tuple[Callable[[np.ndarray], np.ndarray], ...] = (
    lambda g: g,
    lambda g: np.rot90(g, 1),
    lambda g: np.rot90(g, 2),
    lambda g: np.rot90(g, 3),
    np.flipud,
    np.fliplr,
    lambda g: g.T,
    lambda g: np.rot90(g, 2).T,
)
_INVERSE = (0, 3, 2, 1, 4, 5, 6, 7)  # rotations by 90/270 undo each other; the rest are involutions


def _is_int(value: Any) -> bool:
    return isinstance(value, (int, np.integer)) and not isinstance(value, bool)


def _check(dihedral: Any, colors: Any) -> None:
    """Raise ValueError naming the field that is wrong."""
    if not _is_int(dihedral) or not 0 <= dihedral < len(_DIHEDRAL):
        raise ValueError(f"augmentation.dihedral: expected an int 0..7, got {dihedral!r}")
    if (not isinstance(colors, (tuple, list)) or not all(_is_int(c) for c in colors)
            or sorted(colors) != list(range(NUM_COLORS))):
        raise ValueError(f"augmentation.colors: expected a permutation of 0..9, got {colors!r}")


def _colour_indices(grid: Any) -> np.ndarray:
    # Checked here: a negative value would silently index the colour table from its end.
    arr = np.asarray(grid, dtype=np.int64)
    if arr.ndim != 2 or arr.size == 0 or arr.min() < 0 or arr.max() >= NUM_COLORS:
        raise ValueError(f"augmentation: not a grid of colours 0..9 (shape {arr.shape})")
    return arr


@dataclass(frozen=True)
class Augmentation:
    """`dihedral` indexes DIHEDRAL_NAMES; `colors[c]` is the new colour of colour c."""

    dihedral: int
    colors: tuple[int, ...]

    def __post_init__(self) -> None:
        _check(self.dihedral, self.colors)
        # Plain ints, so equal augmentations hash equal and to_json is JSON.
        object.__setattr__(self, "dihedral", int(self.dihedral))
        object.__setattr__(self, "colors", tuple(int(c) for c in self.colors))

    @property
    def is_identity(self) -> bool:
        return self.dihedral == 0 and self.colors == tuple(range(NUM_COLORS))

    def apply_grid(self, grid: np.ndarray) -> np.ndarray:
        """Recolour then transform; returns a new read-only int64 array."""
        recoloured = np.asarray(self.colors, dtype=np.int64)[_colour_indices(grid)]
        return frozen_grid(_DIHEDRAL[self.dihedral](recoloured))

    def invert_grid(self, grid: np.ndarray) -> np.ndarray:
        """Undo apply_grid (e.g. on a program's output for an augmented input)."""
        inverse = np.argsort(np.asarray(self.colors, dtype=np.int64))
        return frozen_grid(inverse[_DIHEDRAL[_INVERSE[self.dihedral]](_colour_indices(grid))])

    def apply_task(self, task: Task) -> Task:
        """The augmented task, same id (solutions, if needed, go through apply_grid)."""
        train = tuple(Pair(self.apply_grid(p.input), self.apply_grid(p.output)) for p in task.train)
        return Task(task.id, train, tuple(self.apply_grid(g) for g in task.test_inputs))

    def to_json(self) -> dict[str, Any]:
        return {"dihedral": self.dihedral, "colors": list(self.colors)}

    @classmethod
    def from_json(cls, obj: Any) -> Augmentation:
        if not isinstance(obj, dict):
            raise ValueError(f"augmentation: expected an object with dihedral and colors, got {obj!r}")
        for key in ("dihedral", "colors"):
            if key not in obj:
                raise ValueError(f"augmentation.{key}: missing")
        return cls(obj["dihedral"], obj["colors"])


IDENTITY = Augmentation(0, tuple(range(NUM_COLORS)))


def random_augmentation(rng: random.Random, permute_background: bool = False,
                        dihedral: int | None = None) -> Augmentation:
    """A uniformly random augmentation (or one with the given dihedral transform)."""
    if dihedral is None:
        dihedral = rng.randrange(len(_DIHEDRAL))
    first = 0 if permute_background else 1
    rest = list(range(first, NUM_COLORS))
    rng.shuffle(rest)
    return Augmentation(dihedral, tuple(range(first)) + tuple(rest))


def augmentations_for(n: int, rng: random.Random, permute_background: bool = False) -> list[Augmentation]:
    """n augmentations: IDENTITY first, then distinct random ones.

    The dihedral transforms cycle through a shuffled order, so the first 8 (and every 8 after them)
    use all 8. A repeat is only accepted after 100 draws found nothing new (a tiny space).
    """
    out: list[Augmentation] = [IDENTITY][:n]
    seen = set(out)
    rest = list(range(1, len(_DIHEDRAL)))
    rng.shuffle(rest)
    order = [0] + rest  # slot 0 is the identity's, so the first 8 cover every transform
    while len(out) < n:
        dihedral = order[len(out) % len(order)]
        for _ in range(100):
            aug = random_augmentation(rng, permute_background, dihedral)
            if aug not in seen:
                break
        seen.add(aug)
        out.append(aug)
    return out
