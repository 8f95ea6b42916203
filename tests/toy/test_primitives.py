"""The primitives do what their descriptions say, on hand-made grids, and are self-contained text."""
from __future__ import annotations

import ast

import numpy as np
import pytest

from arcfarm.toy.primitives import PRIMITIVES, compile_helpers

H = compile_helpers()


def test_at_least_thirty_primitives_each_a_self_contained_helper():
    assert len(PRIMITIVES) >= 30
    for name, prim in PRIMITIVES.items():
        tree = ast.parse(prim.source)
        assert [type(n) for n in tree.body] == [ast.FunctionDef], name
        assert tree.body[0].name == name
        # the sandbox provides `common` and numpy (imported by the program header) only
        assert not any(isinstance(n, (ast.Import, ast.ImportFrom)) for n in ast.walk(tree)), name


def test_helpers_never_write_to_their_input():
    rng = np.random.default_rng(0)
    grid = rng.integers(0, 4, size=(6, 7))
    args = {"recolor": (1, 5), "swap_colors": (1, 2), "paint_all": (5,), "fill_background": (5,),
            "remove_color": (1,), "keep_color": (1,), "gravity": ("down",), "fill_enclosed": (5,),
            "outline_shapes": (5,), "draw_border": (5,), "extend_vertical": (1,), "extend_horizontal": (1,),
            "shoot_rays": (1, "up"), "connect_pixels": (1,), "halo": (1, 5), "remove_noise": (1,),
            "recolor_largest": (5,), "recolor_by_size": (3, 5, 6), "move_to_edge": ("left",),
            "count_objects": (5,), "fill_bounding_boxes": (5,), "scale_up": (2,), "tile": (2, 2),
            "shift": ("down", 1)}
    for name, fn in H.items():
        before = grid.copy()
        out = fn(grid, *args.get(name, ()))
        assert np.array_equal(grid, before), name
        assert out.ndim == 2 and out.min() >= 0 and out.max() <= 9, name


@pytest.mark.parametrize("direction,expected", [
    ("down", [[0, 0, 0], [0, 0, 0], [1, 0, 2]]),
    ("up", [[1, 0, 2], [0, 0, 0], [0, 0, 0]]),
    ("left", [[1, 0, 0], [2, 0, 0], [0, 0, 0]]),
    ("right", [[0, 0, 1], [0, 0, 2], [0, 0, 0]]),
])
def test_gravity_directions_in_the_rendered_picture(direction, expected):
    assert H["gravity"](np.array([[1, 0, 0], [0, 0, 2], [0, 0, 0]]), direction).tolist() == expected


def test_move_to_edge_stacks_objects():
    grid = np.array([[0, 0, 0, 0], [0, 1, 1, 0], [0, 0, 0, 0], [0, 0, 2, 0]])
    assert H["move_to_edge"](grid, "down").tolist() == [[0, 0, 0, 0], [0, 0, 0, 0], [0, 1, 1, 0], [0, 0, 2, 0]]
    assert H["move_to_edge"](grid, "left").tolist() == [[0, 0, 0, 0], [1, 1, 0, 0], [0, 0, 0, 0], [2, 0, 0, 0]]


def test_fill_enclosed_fills_closed_boxes_only():
    grid = np.zeros((6, 9), dtype=np.int64)
    grid[1:5, 1:5] = 3
    grid[2:4, 2:4] = 0          # closed box
    grid[1:5, 5:8] = 4
    grid[2:4, 6] = 0
    grid[1, 6] = 0              # open at the top
    out = H["fill_enclosed"](grid, 7)
    assert (out[2:4, 2:4] == 7).all()
    assert (out[2:4, 6] == 0).all()


def test_symmetry_completion_restores_the_mirror_image():
    full = np.array([[1, 2, 2, 1], [3, 4, 4, 3]])
    holed = full.copy()
    holed[0, 1] = holed[1, 0] = 0
    assert np.array_equal(H["complete_symmetry_lr"](holed), full)


def test_object_rules_on_a_known_grid():
    grid = np.array([[1, 1, 0, 0, 2], [1, 1, 0, 0, 0], [0, 0, 0, 3, 3]])
    assert (H["keep_largest"](grid) != 0).sum() == 4
    assert (H["keep_smallest"](grid) != 0).sum() == 1
    assert H["crop_largest"](grid).tolist() == [[1, 1], [1, 1]]
    assert H["count_objects"](grid, 5).tolist() == [[5, 5, 5]]
    assert H["remove_noise"](grid, 1).tolist() == [[1, 1, 0, 0, 0], [1, 1, 0, 0, 0], [0, 0, 0, 3, 3]]
    assert H["recolor_by_size"](grid, 3, 8, 9).tolist() == [[8, 8, 0, 0, 9], [8, 8, 0, 0, 0], [0, 0, 0, 9, 9]]


def test_lines_from_pixels():
    grid = np.array([[0, 0, 0, 0], [0, 1, 0, 3], [0, 0, 0, 0]])
    assert H["shoot_rays"](grid, 1, "right").tolist() == [[0, 0, 0, 0], [0, 1, 1, 3], [0, 0, 0, 0]]
    assert H["extend_vertical"](grid, 1)[:, 1].tolist() == [1, 1, 1]
    pair = np.array([[2, 0, 0, 2]])
    assert H["connect_pixels"](pair, 2).tolist() == [[2, 2, 2, 2]]
