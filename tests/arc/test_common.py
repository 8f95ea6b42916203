"""Tests for arcfarm.arc.common, the BARC `common` library (spec: shared/spec/barc-common-api.md).

Expected values are worked out by hand from the spec, including its "(tested)" examples of the
original's quirks. Random generators are checked by replaying the stdlib calls the spec lists.
"""
from __future__ import annotations

import random
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import arcfarm.arc.common as common
from arcfarm.arc.common import (
    Color,
    MirrorSymmetry,
    Symmetry,
    TranslationalSymmetry,
    apply_diagonal_symmetry,
    apply_symmetry,
    blit,
    blit_object,
    blit_sprite,
    bounding_box,
    bounding_box_mask,
    check_between_objects,
    collision,
    contact,
    crop,
    detect_mirror_symmetry,
    detect_objects,
    detect_rotational_symmetry,
    detect_translational_symmetry,
    draw_line,
    find_connected_components,
    flood_fill,
    generate_sprite,
    is_contiguous,
    object_boundary,
    object_colors,
    object_interior,
    object_neighbors,
    object_position,
    orbit,
    random_free_location_for_object,
    random_free_location_for_sprite,
    random_sprite,
    randomly_scatter_points,
    randomly_spaced_indices,
    scale_pattern,
    scale_sprite,
    show_colored_grid,
    translate,
    visualize,
)

A = np.array

SPEC_FUNCTIONS = {
    "flood_fill", "draw_line", "find_connected_components", "randomly_scatter_points", "scale_pattern",
    "scale_sprite", "blit", "blit_object", "blit_sprite", "bounding_box", "bounding_box_mask",
    "object_position", "object_colors", "crop", "translate", "collision", "contact",
    "randomly_spaced_indices", "check_between_objects", "random_free_location_for_sprite",
    "random_free_location_for_object", "object_interior", "object_boundary", "object_neighbors", "orbit",
    "detect_translational_symmetry", "detect_mirror_symmetry", "detect_rotational_symmetry",
    "show_colored_grid", "visualize", "apply_symmetry", "apply_diagonal_symmetry", "is_contiguous",
    "generate_sprite", "random_sprite", "detect_objects",
}
SPEC_NAMES = SPEC_FUNCTIONS | {
    "np", "random", "Color", "Symmetry", "TranslationalSymmetry", "MirrorSymmetry",
    "List", "Tuple", "Optional", "Union", "Set", "Callable", "Any", "NDArray",
}


# ---------------------------------------------------------------- module surface


def test_star_import_exposes_exactly_the_spec_names():
    namespace: dict = {}
    exec("from arcfarm.arc.common import *", namespace)
    namespace.pop("__builtins__")
    assert len(SPEC_FUNCTIONS) == 36
    assert set(namespace) == SPEC_NAMES
    assert not hasattr(common, "__all__")
    assert namespace["np"] is np and namespace["random"] is random
    assert namespace["NDArray"] is np.typing.NDArray
    assert "RotationalSymmetry" not in namespace and "annotations" not in namespace


def test_module_executes_without_importing_scipy():
    # The sandbox runs the file fresh per program; scipy must load only inside functions.
    path = Path(common.__file__)
    code = (
        "import sys\n"
        "before = set(sys.modules)\n"
        f"src = open({str(path)!r}).read()\n"
        "ns = {'__name__': 'common'}\n"
        f"exec(compile(src, {str(path)!r}, 'exec'), ns)\n"
        "tops = {m.split('.')[0] for m in set(sys.modules) - before}\n"
        "print(sorted(t for t in tops if t not in sys.stdlib_module_names and t != 'numpy'))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_color_constants():
    assert (Color.BLACK, Color.BLUE, Color.RED, Color.GREEN, Color.YELLOW) == (0, 1, 2, 3, 4)
    assert (Color.GREY, Color.GRAY, Color.PINK, Color.ORANGE) == (5, 5, 6, 7)
    assert (Color.TEAL, Color.PURPLE, Color.MAROON, Color.BROWN) == (8, 8, 9, 9)
    assert Color.PURPLE == 8 and Color.BROWN == 9
    assert Color.TRANSPARENT == 0 and Color.BACKGROUND == 0
    assert Color.ALL_COLORS == list(range(10)) and isinstance(Color.ALL_COLORS, list)
    assert Color.NOT_BLACK == list(range(1, 10)) and isinstance(Color.NOT_BLACK, list)


# ---------------------------------------------------------------- drawing


def test_flood_fill_four_and_eight_connectivity():
    grid = A([[1, 1, 0], [0, 1, 0], [0, 0, 1]])
    four = grid.copy()
    assert flood_fill(four, 0, 0, 5) is None
    assert four.tolist() == [[5, 5, 0], [0, 5, 0], [0, 0, 1]]
    eight = grid.copy()
    flood_fill(eight, 0, 0, 5, connectivity=8)
    assert eight.tolist() == [[5, 5, 0], [0, 5, 0], [0, 0, 5]]
    same = grid.copy()
    flood_fill(same, 0, 2, 0)  # colour equals the old colour: nothing changes
    assert (same == grid).all()
    with pytest.raises(AssertionError):
        flood_fill(grid.copy(), 0, 0, 5, connectivity=6)


def _at_depth(depth, fn):
    return fn() if depth == 0 else _at_depth(depth - 1, fn)


def test_flood_fill_and_interior_have_no_recursion_limit():
    # The original recursed once per cell and failed here; the result must be a full fill.
    grid = np.zeros((30, 30), dtype=int)
    _at_depth(sys.getrecursionlimit() - 60, lambda: flood_fill(grid, 15, 15, 3))
    assert (grid == 3).all()
    object_interior(np.zeros((2, 2), dtype=int))  # import scipy first: an import needs stack too
    interior = _at_depth(sys.getrecursionlimit() - 60, lambda: object_interior(np.zeros((30, 30), dtype=int)))
    assert not interior.any()


def test_draw_line_to_non_45_degree_end_point_paints_the_diagonal():
    grid = np.zeros((5, 5), dtype=int)
    assert draw_line(grid, 0, 0, end_x=3, end_y=1, color=2) == (3, 3)
    assert np.argwhere(grid).tolist() == [[0, 0], [1, 1], [2, 2], [3, 3]]


def test_draw_line_direction_length_stop_and_outside_start():
    grid = np.zeros((4, 4), dtype=int)
    grid[0, 3] = 7
    assert draw_line(grid, 0, 0, direction=(0, 1), color=1, stop_at_color=[7]) == (0, 2)
    assert grid[0].tolist() == [1, 1, 1, 7]
    assert draw_line(grid, 1, 0, length=2, direction=(0, 5), color=4) == (1, 1)
    assert grid[1].tolist() == [4, 4, 0, 0]
    # Starts outside, walks in (default length 2 * 4 = 8 steps).
    assert draw_line(grid, -2, 2, direction=(1, 0), color=3) == (3, 2)
    assert grid[:, 2].tolist() == [3, 3, 3, 3]
    # Nothing painted: returns the start, as ints.
    assert draw_line(grid, 2.0, 0, direction=(0, 1), color=1, stop_at_color=[0]) == (2, 0)
    with pytest.raises(AssertionError):
        draw_line(grid, 0, 0, end_x=1, color=1)


def test_blit_clips_keeps_transparency_and_returns_the_grid():
    grid = np.zeros((3, 3), dtype=int)
    sprite = A([[1, 0], [2, 3]])
    assert blit(grid, sprite, -1, 2) is grid
    assert grid.tolist() == [[0, 0, 2], [0, 0, 0], [0, 0, 0]]  # only sprite[1, 0] lands inside
    grid = np.full((2, 2), 9)
    blit(grid, sprite, 0.7, 0, background=0)  # x truncated to 0; the 0 cell is transparent
    assert grid.tolist() == [[1, 9], [2, 3]]
    blit(grid, sprite)  # background None: everything copied
    assert grid.tolist() == [[1, 0], [2, 3]]


def test_blit_of_a_view_of_the_grid_reads_its_own_writes():
    # Cell by cell as in the original: rot90(a)[i, j] = a[j, 1 - i] sees earlier writes.
    grid = A([[1, 2], [0, 0]])
    blit(grid, np.rot90(grid), background=0)
    assert grid.tolist() == [[2, 2], [2, 2]]


def test_blit_sprite_and_blit_object():
    grid = np.zeros((3, 3), dtype=int)
    assert blit_sprite(grid, A([[5, 0]]), x=1, y=1) is grid
    assert grid.tolist() == [[0, 0, 0], [0, 5, 0], [0, 0, 0]]
    obj = A([[0, 0, 4], [0, 0, 0], [0, 0, 0]])
    grid[0, 0] = 6
    blit_object(grid, obj)
    assert grid.tolist() == [[6, 0, 4], [0, 5, 0], [0, 0, 0]]
    canvas = np.full((2, 2), 1)
    blit_object(canvas, A([[1, 3], [1, 1]]), background=1)
    assert canvas.tolist() == [[1, 3], [1, 1]]


def test_randomly_scatter_points_replays_numpy_draws():
    grid = np.zeros((3, 4), dtype=int)
    grid[0, 0] = 9
    np.random.seed(3)
    assert randomly_scatter_points(grid, 2, density=0.5) is grid
    np.random.seed(3)
    expected = np.zeros((3, 4), dtype=int)
    expected[0, 0] = 9
    count = 0
    while count < 6:  # density * n * m
        px, py = np.random.randint(0, 3), np.random.randint(0, 4)
        if expected[px, py] == 0:
            expected[px, py] = 2
            count += 1
    assert (grid == expected).all() and (grid == 2).sum() == 6 and grid[0, 0] == 9


# ---------------------------------------------------------------- objects


def test_find_connected_components_label_order_and_colour_set_order():
    grid = A([[1, 0, 8], [1, 0, 0], [0, 1, 1]])
    comps = find_connected_components(grid)
    # Colours {1, 8}: CPython set order puts 8 first (Appendix A); labels in row-major order.
    assert [c.tolist() for c in comps] == [
        [[0, 0, 8], [0, 0, 0], [0, 0, 0]],
        [[1, 0, 0], [1, 0, 0], [0, 0, 0]],
        [[0, 0, 0], [0, 0, 0], [0, 1, 1]],
    ]
    assert all(c.dtype == grid.dtype for c in comps)
    eight = find_connected_components(grid, connectivity=8, monochromatic=True)
    assert len(eight) == 2
    mixed = find_connected_components(A([[1, 2], [0, 3]]), monochromatic=False)
    assert [c.tolist() for c in mixed] == [[[1, 2], [0, 3]]]
    assert [c.tolist() for c in find_connected_components(A([[4, 4], [4, 5]]), background=4)] == [[[4, 4], [4, 5]]]
    assert find_connected_components(np.zeros((2, 2), dtype=int)) == []
    with pytest.raises(ValueError, match="Connectivity must be 4 or 8."):
        find_connected_components(grid, connectivity=6)


def test_detect_objects_defaults_find_nothing():
    assert detect_objects(A([[1, 0], [0, 2]])) == []


def test_detect_objects_orders_by_bounding_box_area():
    objs = detect_objects(A([[1, 0, 2], [0, 0, 2], [3, 3, 0]]), connectivity=4)
    assert [int(o.max()) for o in objs] == [2, 3, 1]


def test_detect_objects_filters_and_predicate_sees_cropped_sprite():
    grid = A([[1, 1, 0], [0, 0, 0], [2, 0, 3]])
    seen = []

    def wide(sprite):
        seen.append(sprite.shape)
        return sprite.shape == (1, 2)

    objs = detect_objects(grid, connectivity=4, predicate=wide)
    assert [o.tolist() for o in objs] == [[[1, 1, 0], [0, 0, 0], [0, 0, 0]]]
    assert sorted(seen) == [(1, 1), (1, 1), (1, 2)]
    objs = detect_objects(grid, connectivity=8, colors=[2, 3])
    assert sorted(int(o.max()) for o in objs) == [2, 3]


def test_detect_objects_window_scan_and_overlap_resolution():
    grid = A([[1, 1, 1], [0, 0, 0]])
    windows = detect_objects(grid, allowed_dimensions=[(1, 2)], can_overlap=True)
    assert [np.argwhere(w).tolist() for w in windows] == [[[0, 0], [0, 1]], [[0, 1], [0, 2]]]
    # The windows overlap at (0, 1) and each covers 2 of the 3 cells: on that tie the search
    # prefers excluding the first window, so the second one is kept.
    resolved = detect_objects(grid, allowed_dimensions=[(1, 2)])
    assert [np.argwhere(w).tolist() for w in resolved] == [[[0, 1], [0, 2]]]
    # Components are full-canvas arrays: kept only if the whole grid's shape is listed.
    assert detect_objects(A([[1, 1], [0, 0]]), connectivity=4, allowed_dimensions=[(3, 3)]) == []
    full = detect_objects(grid, connectivity=4, allowed_dimensions=[(2, 3)])
    assert [o.tolist() for o in full] == [grid.tolist()]


def test_detect_objects_overlap_search_prefers_full_cover():
    # Windows of 1x2 over a 1x3 bar plus a 1x1 window: the 1x2s (largest first) overlap each
    # other; {first 1x2, last 1x1} covers all 3 cells and is accepted at once.
    grid = A([[1, 1, 1]])
    objs = detect_objects(grid, allowed_dimensions=[(1, 2), (1, 1)])
    assert [np.argwhere(o).tolist() for o in objs] == [[[0, 0], [0, 1]], [[0, 2]]]


def test_is_contiguous():
    assert is_contiguous(A([[1, 1], [0, 2]]))
    assert not is_contiguous(A([[1, 0], [0, 1]]))
    assert is_contiguous(A([[1, 0], [0, 1]]), connectivity=8)
    assert not is_contiguous(np.zeros((2, 2), dtype=int))
    assert is_contiguous(A([[5, 1], [5, 5]]), background=5)
    with pytest.raises(ValueError):
        is_contiguous(A([[1]]), connectivity=5)


def test_bounding_box():
    grid = np.zeros((4, 5), dtype=int)
    grid[1, 2] = grid[2, 4] = 3
    box = bounding_box(grid)
    assert box == (1, 2, 2, 3) and all(type(v) is int for v in box)
    assert bounding_box(np.zeros((3, 4), dtype=int)) == (3, 4, -3, -4)
    assert bounding_box(grid == 3, background=False) == (1, 2, 2, 3)
    assert bounding_box(np.full((2, 2), 7), background=7) == (2, 2, -2, -2)


def test_bounding_box_mask():
    grid = np.zeros((3, 3), dtype=int)
    grid[0, 1] = grid[1, 2] = 1
    mask = bounding_box_mask(grid)
    assert mask.dtype == bool
    assert mask.tolist() == [[False, True, True], [False, True, True], [False, False, False]]
    assert not bounding_box_mask(np.zeros((2, 2), dtype=int)).any()


def test_crop_returns_a_view():
    grid = np.zeros((4, 4), dtype=int)
    grid[1, 1] = grid[2, 2] = 5
    sprite = crop(grid)
    assert sprite.tolist() == [[5, 0], [0, 5]]
    sprite[0, 1] = 9
    assert grid[1, 2] == 9
    assert crop(np.zeros((3, 3), dtype=int)).shape == (0, 0)


def test_object_position_anchors():
    obj = np.zeros((5, 5), dtype=int)
    obj[1:3, 1:4] = 2  # box x=1, y=1, w=2, h=3
    expected = {
        "upper left": (1, 1), "upper right": (2, 1), "lower left": (1, 3), "lower right": (2, 3),
        "center": (1.5, 2), "upper center": (1.5, 1), "lower center": (1.5, 3),
        "left center": (1, 2), "right center": (2, 2),
        "Top Left": (1, 1), "bottom right": (2, 3),
    }
    for anchor, point in expected.items():
        assert object_position(obj, anchor=anchor) == point
    assert type(object_position(obj, anchor="center")[1]) is int
    assert object_position(obj) == (1, 1)
    assert object_position(np.zeros((2, 3), dtype=int)) == (2, 3)
    for bad in ["center left", "top-left"]:
        with pytest.raises(AssertionError, match="Invalid anchor"):
            object_position(obj, anchor=bad)


def test_object_colors_follow_cpython_set_order():
    assert object_colors(A([[9, 1], [8, 0]])) == [8, 9, 1]
    assert object_colors(A([[1, 2], [8, 9]])) == [8, 1, 2, 9]
    assert object_colors(A([[1, 8]])) == [8, 1]
    assert object_colors(A([[9, 8, 7], [6, 5, 0]])) == [5, 6, 7, 8, 9]
    assert object_colors(A([[3, 3], [0, 3]]), background=3) == [0]
    assert isinstance(object_colors(A([[2]]))[0], np.integer)


RING = A([[0, 0, 0, 0, 0], [0, 1, 1, 1, 0], [0, 1, 0, 1, 0], [0, 1, 1, 1, 0], [0, 0, 0, 0, 0]])


def test_object_interior():
    interior = object_interior(RING)
    assert interior.dtype == bool
    assert np.argwhere(interior).tolist() == [[r, c] for r in range(1, 4) for c in range(1, 4)]
    open_ring = RING.copy()
    open_ring[1, 2] = 0  # the hole now reaches the edge via (1, 2) and (0, 2)
    assert not object_interior(open_ring)[2, 2]
    assert object_interior(A([[1, 1], [1, 1]])).all()


def test_object_boundary():
    block = np.zeros((7, 7), dtype=int)
    block[1:6, 1:6] = 4
    boundary = object_boundary(block)
    assert boundary.sum() == 16 and not boundary[2:5, 2:5].any()
    # A hole does not create boundary; the canvas edge does.
    holed = np.full((3, 3), 2)
    holed[1, 1] = 0
    assert object_boundary(holed).sum() == 8
    assert object_boundary(A([[0, 0], [0, 3]])).tolist() == [[False, False], [False, True]]


def test_object_neighbors():
    four = object_neighbors(RING)
    assert four[2, 2]  # the hole next to the boundary counts
    assert four.sum() == 12 + 1 and not four[0, 0]
    eight = object_neighbors(RING, connectivity=8)
    assert eight.sum() == 16 + 1 and eight[0, 0]
    with pytest.raises(ValueError):
        object_neighbors(RING, connectivity=3)


# ---------------------------------------------------------------- moving, scaling, comparing


def test_translate():
    obj = A([[1, 2], [3, 4]], dtype=np.int8)
    moved = translate(obj, 1, 0)
    assert moved.tolist() == [[0, 0], [1, 2]] and moved.dtype == np.int8
    assert translate(obj, 0, -1, background=7).tolist() == [[2, 7], [4, 7]]
    assert translate(obj, 5, 5).tolist() == [[0, 0], [0, 0]]
    assert translate(obj, np.int64(-1), np.int64(1)).tolist() == [[0, 3], [0, 0]]
    with pytest.raises(IndexError):
        translate(obj, 1.0, 0)


def test_scale_sprite_and_scale_pattern(capsys):
    sprite = A([[1, 2]], dtype=np.uint8)
    expected = [[1, 1, 2, 2], [1, 1, 2, 2]]
    scaled = scale_sprite(sprite, 2)
    assert scaled.tolist() == expected and scaled.dtype == np.uint8
    pattern = scale_pattern(sprite, scale_factor=2)
    assert pattern.tolist() == expected and pattern.dtype == np.uint8
    assert capsys.readouterr().out == ""  # arc25's quiet variant


def test_collision():
    a = A([[1, 0], [0, 0]])
    b = A([[0, 0], [0, 1]])
    assert not collision(object1=a, object2=b)
    assert collision(object1=a, object2=b, x2=-1, y2=-1)
    assert collision(object1=a, object2=b, x1=1.9, y1=1, x2=0, y2=0)  # int(x2 - x1) = -1
    assert not collision(object1=a, object2=b, x2=5)


def test_contact():
    a = A([[1, 0], [0, 0]])
    b = A([[0, 1], [0, 0]])
    diagonal = A([[0, 0], [0, 1]])
    assert contact(object1=a, object2=b)
    assert not contact(object1=a, object2=diagonal)
    assert contact(object1=a, object2=diagonal, connectivity=8)
    assert not contact(object1=a, object2=b, x2=0, y2=2)
    with pytest.raises(ValueError):
        contact(object1=a, object2=b, connectivity=2)


def test_check_between_objects():
    left = np.zeros((7, 5), dtype=int)
    left[0:2, 1:4] = 1  # x 0..1, y 1..3
    right = np.zeros((7, 5), dtype=int)
    right[5:7, 1:4] = 2  # x 5..6, y 1..3
    assert check_between_objects(left, right, 3, 2)
    assert check_between_objects(right, left, 2, 1)
    assert not check_between_objects(left, right, 3, 2, padding=2)  # y + 2 >= 4
    assert not check_between_objects(left, right, 1, 2)  # inside the left box
    assert not check_between_objects(left, right, 3, 0)  # outside the y overlap
    top = np.zeros((5, 7), dtype=int)
    top[1:4, 0:2] = 3
    bottom = np.zeros((5, 7), dtype=int)
    bottom[1:4, 5:7] = 4
    assert check_between_objects(top, bottom, 2, 3)


# ---------------------------------------------------------------- symmetry


def test_symmetry_base_class():
    assert Symmetry().apply(1, 2) is None
    assert issubclass(MirrorSymmetry, Symmetry) and issubclass(TranslationalSymmetry, Symmetry)


def test_translational_symmetry_class():
    sym = TranslationalSymmetry(2, -1)
    assert (sym.translate_x, sym.translate_y) == (2, -1)
    assert sym.apply(1, 1) == (3, 0)
    assert sym.apply(1, 1, iters=-2) == (-3, 3)
    assert sym.apply(0.6, 1.0) == (3, 0)  # floats are rounded to ints
    xs, ys = sym.apply(A([0, 1]), A([0, 0]))
    assert xs.tolist() == [2, 3] and ys.tolist() == [-1, -1]
    assert repr(sym) == str(sym) == "TranslationalSymmetry(translate_x=2, translate_y=-1)"
    assert sym._iter_range((5, 3)) == (-3, 4)  # max(ceil(5/2), ceil(3/1))
    assert TranslationalSymmetry(0, 0)._iter_range((5, 5)) == (0, 1)


def test_mirror_symmetry_class():
    sym = MirrorSymmetry(1.5, None)
    assert sym.apply(0, 2) == (3, 2) and type(sym.apply(0, 2)[0]) is int
    assert sym.apply(0, 2, iters=2) == (0, 2)
    assert sym.apply(0, 2, iters=-1) == (3, 2)
    xs, ys = MirrorSymmetry(0.5, 1).apply(A([0, 1]), A([0, 3]))
    assert xs.tolist() == [1, 0] and ys.tolist() == [2, -1]
    assert repr(sym) == str(sym) == "MirrorSymmetry(mirror_x=1.5, mirror_y=None)"
    assert sym._iter_range((9, 9)) == (0, 2)


def test_orbit():
    grid = np.zeros((1, 5), dtype=int)
    assert sorted(orbit(grid, 0, 1, [TranslationalSymmetry(0, 2)])) == [(0, 1), (0, 3)]
    assert sorted(orbit(grid, 0, 0, [MirrorSymmetry(None, 2)])) == [(0, 0), (0, 4)]
    square = np.zeros((3, 3), dtype=int)
    both = orbit(square, 0, 0, [MirrorSymmetry(1, None), MirrorSymmetry(None, 1)])
    assert sorted(both) == [(0, 0), (0, 2), (2, 0), (2, 2)]


def test_detect_translational_symmetry_prefers_negative_shifts():
    syms = detect_translational_symmetry(A([[1, 2, 1, 2, 1, 2]]))
    assert [(s.translate_x, s.translate_y) for s in syms] == [(0, -2)]
    both = detect_translational_symmetry(A([[1, 2, 1, 2], [1, 2, 1, 2]]))
    assert [(s.translate_x, s.translate_y) for s in both] == [(-1, 0), (0, -2)]
    diagonal = detect_translational_symmetry(A([[1, 0], [0, 1]]))
    assert [(s.translate_x, s.translate_y) for s in diagonal] == [(1, 1)]
    assert detect_translational_symmetry(np.zeros((3, 3), dtype=int)) == []


def test_detect_mirror_symmetry():
    syms = detect_mirror_symmetry(A([[1, 2, 1], [3, 4, 3]]))
    assert [(s.mirror_x, s.mirror_y) for s in syms] == [(None, 1)]
    # Exact tie: the x mirror at 0 and the y mirror at 1 both preserve all three cells.
    ties = detect_mirror_symmetry(A([[1, 2, 1]]))
    assert [(s.mirror_x, s.mirror_y) for s in ties] == [(0, None), (None, 1), (0, 1)]
    assert detect_mirror_symmetry(A([[1, 0], [0, 0]]), ignore_colors=[0, 1]) == []


def test_detect_rotational_symmetry():
    plus = A([[0, 1, 0], [1, 2, 1], [0, 1, 0]])
    sym = detect_rotational_symmetry(plus)
    assert (sym.center_x, sym.center_y) == (1, 1)
    assert type(sym).__name__ == "RotationalSymmetry" and isinstance(sym, Symmetry)
    assert sym.apply(0, 1) == (1, 2)
    assert sym.apply(0, 1, iters=2) == (2, 1)
    assert sym.apply(0, 1, iters=-1) == (0, 1)  # negative iters: no rotation at all
    xs, ys = sym.apply(A([0, 1]), A([1, 1]))
    assert xs.tolist() == [1, 1] and ys.tolist() == [2, 1]
    assert sym._iter_range((3, 3)) == (0, 4)
    square = detect_rotational_symmetry(np.ones((2, 2), dtype=int))
    assert (square.center_x, square.center_y) == (0.5, 0.5)
    assert square.apply(0, 0) == (0, 1)
    assert detect_rotational_symmetry(np.zeros((3, 3), dtype=int)) is None


# ---------------------------------------------------------------- debugging helpers


def test_show_colored_grid_prints_one_line_per_axis1_index(capsys):
    show_colored_grid(A([[1, 2]]))
    assert capsys.readouterr().out == "\033[38;5;4m1\033[0m\n\033[38;5;1m2\033[0m\n"


def test_visualize_reports_examples_and_failures(capsys):
    calls = iter(range(100))

    def generator():
        if next(calls) == 1:
            raise RuntimeError("boom")
        return A([[3]])

    visualize(generator, lambda grid: grid + 1, n_examples=2, n_attempts=5)
    out = capsys.readouterr().out
    assert "Example 0\nInput:\n" in out and "Example 1\n" in out and "Example 2" not in out
    assert "1/3 failures (0.3333333333333333). For example:" in out and "RuntimeError: boom" in out


# ---------------------------------------------------------------- random generation


def test_apply_symmetry():
    sprite = A([[1, 0], [0, 0], [0, 2]])
    assert apply_symmetry(sprite, "horizontal") is sprite
    assert sprite.tolist() == [[1, 2], [0, 0], [1, 2]]
    vertical = A([[0, 3, 4]])
    apply_symmetry(vertical, "vertical")
    assert vertical.tolist() == [[4, 3, 4]]
    with pytest.raises(ValueError):
        apply_symmetry(vertical, "diagonal")


def test_apply_diagonal_symmetry():
    sprite = A([[5, 1, 0], [2, 5, 0], [0, 3, 5]])
    assert apply_diagonal_symmetry(sprite) is sprite
    assert sprite.tolist() == [[5, 1, 0], [1, 5, 3], [0, 3, 5]]
    with pytest.raises(ValueError):
        apply_diagonal_symmetry(np.zeros((2, 3), dtype=int))


def test_generate_sprite_makes_the_spec_rng_calls():
    random.seed(11)
    sprite = generate_sprite(1, 1, "not_symmetric", color_palate=[6])
    after = random.getstate()
    random.seed(11)
    random.randint(0, 0), random.randint(0, 0)  # start cell
    if random.random() < 0.33:  # one walk step paints the only cell
        random.choice(range(1))
    random.choice([(0, 1), (0, -1), (1, 0), (-1, 0)])
    assert sprite.tolist() == [[6]] and sprite.dtype == np.int64
    assert random.getstate() == after


def test_generate_sprite_symmetry_types():
    random.seed(2)
    for kind, check in [
        ("horizontal", lambda s: (s == s[::-1]).all()),
        ("vertical", lambda s: (s == s[:, ::-1]).all()),
        ("radial", lambda s: (s == np.rot90(s)).all()),
        ("mirror", lambda s: (s == s[::-1]).all() and (s == s[:, ::-1]).all()),
        ("diagonal", lambda s: (s == s.T).all() or (s == np.rot90(s, 2).T).all()),
        ("not_symmetric", lambda s: s.shape == (5, 5)),
    ]:
        sprite = generate_sprite(5, 5, kind, color_palate=[3, 4])
        assert sprite.shape == (5, 5) and set(np.unique(sprite)) <= {0, 3, 4}
        assert check(sprite), kind
    with pytest.raises(ValueError):
        generate_sprite(3, 3, "spiral")
    with pytest.raises(ValueError):
        generate_sprite(3, 3, "not_symmetric", connectivity=6)


def test_random_sprite_properties():
    random.seed(4)
    for _ in range(20):
        sprite = random_sprite(range(2, 6), [3, 5], background=7)
        assert sprite.shape[0] in range(2, 6) and sprite.shape[1] in (3, 5)
        fg = sprite != 7
        assert fg[0].any() and fg[-1].any() and fg[:, 0].any() and fg[:, -1].any()
        assert is_contiguous(sprite, background=7) and sprite.dtype == np.int64


def test_random_sprite_rng_call_order_for_a_one_cell_sprite():
    random.seed(9)
    sprite = random_sprite(1, 1, symmetry="not_symmetric", color_palette=[5])
    after = random.getstate()
    random.seed(9)
    random.choice([1]), random.choice([1])  # n, m; density forced to 1, no gauss
    random.randint(0, 0), random.randint(0, 0)
    if random.random() < 0.33:
        random.choice(range(1))
    random.choice([(0, 1), (0, -1), (1, 0), (-1, 0)])
    assert sprite.tolist() == [[5]] and random.getstate() == after


def test_random_sprite_pinned_outputs():
    # Pinned from this implementation after checking it call-for-call against a transcription
    # of the original on 1,350 seeded calls (same sprites, same RNG state afterwards).
    random.seed(1)
    assert random_sprite([3, 4], [3, 4]).tolist() == [[0, 8, 0], [8, 8, 8], [0, 8, 0]]
    assert random.random() == 0.7609477375418205
    random.seed(1)
    radial = random_sprite(5, 5, symmetry="radial")
    assert radial.tolist() == [[0, 0, 9, 0, 0], [0, 0, 9, 0, 0], [9, 9, 9, 9, 9], [0, 0, 9, 0, 0], [0, 0, 9, 0, 0]]
    random.seed(1)
    mirror = random_sprite(4, 5, symmetry="mirror", color_palette=[2, 6])
    assert mirror.tolist() == [[0, 0, 2, 0, 0], [2, 2, 2, 2, 2], [2, 2, 2, 2, 2], [0, 0, 2, 0, 0]]
    assert random.random() == 0.03245913119424004


def test_random_free_location_for_sprite():
    grid = np.zeros((3, 3), dtype=int)
    grid[1, 1] = 4
    random.seed(5)
    location = random_free_location_for_sprite(grid, A([[2]]))
    random.seed(5)
    free = [(x, y) for x in range(3) for y in range(3) if (x, y) != (1, 1)]
    assert location == random.choice(free)
    with pytest.raises(ValueError, match="No free location for sprite found."):
        random_free_location_for_sprite(grid, A([[2]]), padding=1)
    big = np.zeros((5, 5), dtype=int)
    big[2, 2] = 1
    # Cross padding blocks the centre's 4 neighbours; border 1 leaves the 3x3 middle.
    random.seed(0)
    spot = random_free_location_for_sprite(big, A([[3]]), border_size=1, padding=1, padding_connectivity=4)
    random.seed(0)
    assert spot == random.choice([(1, 1), (1, 3), (3, 1), (3, 3)])
    # Sprite background cells may overlap the content.
    assert random_free_location_for_sprite(A([[1, 0]]), A([[0, 5]])) == (0, 0)
    with pytest.raises(ValueError):
        random_free_location_for_sprite(big, A([[3]]), padding=1, padding_connectivity=6)


def test_random_free_location_for_object_is_an_alias():
    random.seed(1)
    a = random_free_location_for_object(np.zeros((4, 4), dtype=int), A([[1, 1]]), border_size=1)
    random.seed(1)
    b = random_free_location_for_sprite(np.zeros((4, 4), dtype=int), A([[1, 1]]), border_size=1)
    assert a == b and a in [(1, 1), (2, 1)]


def test_randomly_spaced_indices():
    random.seed(3)
    got = randomly_spaced_indices(5, 1, border_size=0)
    random.seed(3)
    assert got.tolist() == [random.choice([0, 1, 2, 3, 4])] and got.dtype == np.int64
    random.seed(8)
    for _ in range(20):
        idx = randomly_spaced_indices(12, 3, border_size=1, padding=1)
        assert len(idx) == 3 and idx.min() >= 1 and idx.max() <= 9  # far margin is always 2
        assert (np.diff(idx) >= 2).all()
    with pytest.raises(IndexError):
        randomly_spaced_indices(3, 2, border_size=0, padding=2)
