"""Augmentations: every one is invertible, keeps ids and shapes, keeps black unless asked."""
from __future__ import annotations

import random

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from arcfarm.arc.augment import IDENTITY, Augmentation, augmentations_for, random_augmentation
from arcfarm.arc.tasks import parse_task

grids = st.tuples(st.integers(1, 7), st.integers(1, 7)).flatmap(
    lambda hw: st.lists(st.integers(0, 9), min_size=hw[0] * hw[1], max_size=hw[0] * hw[1]).map(
        lambda cells: np.array(cells, dtype=np.int64).reshape(hw)))
augmentations = st.builds(Augmentation, st.integers(0, 7), st.permutations(range(10)).map(tuple))


@settings(max_examples=200, deadline=None)
@given(grids, augmentations)
def test_invert_undoes_apply(grid, aug):
    out = aug.apply_grid(grid)
    assert out.dtype == np.int64 and not out.flags.writeable
    assert sorted(out.shape) == sorted(grid.shape)
    assert np.array_equal(aug.invert_grid(out), grid)


def test_the_eight_dihedral_transforms_are_distinct():
    grid = np.arange(6).reshape(2, 3)
    keep = tuple(range(10))
    images = {(Augmentation(k, keep).apply_grid(grid).shape, Augmentation(k, keep).apply_grid(grid).tobytes())
              for k in range(8)}
    assert len(images) == 8
    assert Augmentation(1, keep).apply_grid(grid).tolist() == np.rot90(grid).tolist()
    assert Augmentation(7, keep).apply_grid(np.array([[1, 2], [3, 4]])).tolist() == [[4, 2], [3, 1]]


@settings(max_examples=50, deadline=None)
@given(st.lists(st.tuples(grids, grids), min_size=1, max_size=3), st.lists(grids, min_size=1, max_size=2),
       augmentations)
def test_apply_task_keeps_id_and_shapes(pairs, tests, aug):
    obj = {"train": [{"input": i.tolist(), "output": o.tolist()} for i, o in pairs],
           "test": [{"input": g.tolist()} for g in tests]}
    task, _ = parse_task("t1", obj)
    out = aug.apply_task(task)
    assert out.id == "t1" and len(out.train) == len(task.train) and len(out.test_inputs) == len(task.test_inputs)
    swap = aug.dihedral in (1, 3, 6, 7)  # the transforms that exchange height and width
    for before, after in zip(task.all_inputs(), out.all_inputs()):
        assert after.shape == (before.shape[::-1] if swap else before.shape)
    assert np.array_equal(out.train[0].output, aug.apply_grid(task.train[0].output))


@settings(max_examples=50, deadline=None)
@given(st.integers(0, 2**32))
def test_background_kept_unless_asked(seed):
    rng = random.Random(seed)
    assert random_augmentation(rng).colors[0] == 0
    assert all(a.colors[0] == 0 for a in augmentations_for(10, rng))


def test_background_is_permuted_when_asked():
    rng = random.Random(0)
    assert any(random_augmentation(rng, permute_background=True).colors[0] != 0 for _ in range(50))


def test_augmentations_for_starts_with_identity_and_is_distinct():
    rng = random.Random(1)
    augs = augmentations_for(20, rng)
    assert augs[0] == IDENTITY and IDENTITY.is_identity and not augs[1].is_identity
    assert len(set(augs)) == 20
    assert {a.dihedral for a in augs[:8]} == set(range(8))
    assert augmentations_for(0, rng) == [] and augmentations_for(1, rng) == [IDENTITY]
    assert augmentations_for(5, random.Random(7)) == augmentations_for(5, random.Random(7))


def test_json_round_trip_and_validation():
    aug = random_augmentation(random.Random(3))
    assert Augmentation.from_json(aug.to_json()) == aug
    assert aug.to_json()["colors"] == list(aug.colors)
    bad = [({"dihedral": 8, "colors": list(range(10))}, "augmentation.dihedral"),
           ({"dihedral": True, "colors": list(range(10))}, "augmentation.dihedral"),
           ({"dihedral": 0, "colors": [0] * 10}, "augmentation.colors"),
           ({"dihedral": 0, "colors": list(range(9))}, "augmentation.colors"),
           ({"colors": list(range(10))}, "augmentation.dihedral: missing"),
           ([0, 1], "augmentation: expected an object")]
    for obj, field in bad:
        with pytest.raises(ValueError, match=field):
            Augmentation.from_json(obj)


def test_invert_refuses_values_outside_the_palette():
    with pytest.raises(ValueError, match="colours 0..9"):
        IDENTITY.invert_grid(np.array([[-1, 2]]))
