"""The BARC `common` library: helpers that generated ARC programs get with `from common import *`.

Written from ../shared/spec/barc-common-api.md (BARC `seeds/common.py` plus arc25's additions):
same names, parameters, defaults and results, quirks included, so programs sampled from the
BARC induction models behave here as they did in training. Where the two originals differ we
take the union of names (Color.PURPLE/BROWN, the typing re-exports, show_colored_grid) and the
quiet variant of `scale_pattern` (stdout would pollute program outputs).

Deliberate differences from the originals, none of which changes a result where they succeed:
flood fills are iterative (no RecursionError on big regions), and loops are vectorised where
numpy gives the same answer.

Constraints: the sandbox executes this file fresh for every program, so it imports only the
standard library, numpy and scipy, and scipy only inside the functions that use it. Every
module-level name without a leading underscore is part of the star-import API.

Axis convention: grid[x, y], x = axis 0, y = axis 1; "width" is the extent along axis 0.
"""
from __future__ import annotations

import random  # re-exported: programs call random.* without importing it
from typing import Any, Callable, List, Optional, Set, Tuple, Union

import numpy as np
from numpy.typing import NDArray  # re-exported with the typing names, as arc25's copy does

# The future import binds `annotations` as a module global; a star import would export it.
del annotations

_CROSS = ((0, 1, 0), (1, 1, 1), (0, 1, 0))
_BLOCK = ((1, 1, 1), (1, 1, 1), (1, 1, 1))


class Color:
    """ARC colours as ints. ALL_COLORS and NOT_BLACK are ascending lists (order matters for
    random.choice). PURPLE/BROWN/GRAY are the names the released BARC models write."""

    BLACK = 0
    BLUE = 1
    RED = 2
    GREEN = 3
    YELLOW = 4
    GREY = 5
    GRAY = 5
    PINK = 6
    ORANGE = 7
    TEAL = 8
    PURPLE = 8
    MAROON = 9
    BROWN = 9
    TRANSPARENT = 0
    BACKGROUND = 0
    ALL_COLORS = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]
    NOT_BLACK = [1, 2, 3, 4, 5, 6, 7, 8, 9]


def _structure(connectivity: int, message: str = "Connectivity must be 4 or 8.") -> np.ndarray:
    """scipy structuring element: 4 -> plus-shaped cross, 8 -> full 3x3 block."""
    if connectivity == 4:
        return np.array(_CROSS)
    if connectivity == 8:
        return np.array(_BLOCK)
    raise ValueError(message)


# ---------------------------------------------------------------- drawing (in place)


def flood_fill(grid, x, y, color, connectivity=4) -> None:
    """Recolour the `connectivity`-connected region of grid[x, y]'s colour containing (x, y)."""
    old_color = grid[x, y]
    assert connectivity in [4, 8], "flood_fill: Connectivity must be 4 or 8."
    _flood_fill(grid, x, y, color, old_color, connectivity)


def _flood_fill(grid, x, y, color, old_color, connectivity) -> None:
    """Iterative version of the original recursive fill: same neighbour rules, same result."""
    n, m = grid.shape[0], grid.shape[1]
    steps = [(-1, 0), (1, 0), (0, -1), (0, 1)]
    if connectivity != 4:
        steps += [(-1, -1), (-1, 1), (1, -1), (1, 1)]
    stack, seen = [(x, y)], {(x, y)}
    while stack:
        cx, cy = stack.pop()
        value = grid[cx, cy]
        if value != old_color or value == color:
            continue
        grid[cx, cy] = color
        for dx, dy in steps:
            nx, ny = cx + dx, cy + dy
            # Same bounds test as the original (x > 0, x < n - 1, ...), on raw coordinates.
            inside = ((dx >= 0 or cx > 0) and (dx <= 0 or cx < n - 1)
                      and (dy >= 0 or cy > 0) and (dy <= 0 or cy < m - 1))
            if inside and (nx, ny) not in seen:
                seen.add((nx, ny))
                stack.append((nx, ny))


def draw_line(grid, x, y, end_x=None, end_y=None, length=None, direction=None, color=None, stop_at_color=[]):
    """Draw from (x, y) towards (end_x, end_y) or along `direction` (reduced to signs);
    stop before a cell whose colour is in stop_at_color. Returns the last painted cell."""
    assert (end_x is None) == (end_y is None), "draw_line: Either both or neither of end_x and end_y must be specified."
    assert x == int(x) and y == int(y), "draw_line: x and y must be integers."
    x, y = int(x), int(y)
    if end_x is not None and end_y is not None:
        length = max(abs(end_x - x), abs(end_y - y)) + 1
        direction = (end_x - x, end_y - y)
    if length is None:
        length = max(grid.shape) * 2
    dx, dy = direction
    if abs(dx) > 0:
        dx = dx // abs(dx)
    if abs(dy) > 0:
        dy = dy // abs(dy)
    stop_x, stop_y = x, y
    for i in range(length):
        new_x, new_y = x + i * dx, y + i * dy
        if 0 <= new_x < grid.shape[0] and 0 <= new_y < grid.shape[1]:
            if grid[new_x, new_y] in stop_at_color:
                break
            grid[new_x, new_y] = color
            stop_x, stop_y = new_x, new_y
    return stop_x, stop_y


def blit(grid, sprite, x=0, y=0, background=None):
    """Copy sprite into grid at (x, y), skipping `background` cells if given; clips; in place."""
    x, y = int(x), int(y)
    if np.may_share_memory(grid, sprite):
        # Cell-by-cell, so reads see earlier writes exactly as in the original (np.rot90 views).
        return _blit_sequential(grid, sprite, x, y, background)
    x0, y0 = max(x, 0), max(y, 0)
    x1 = min(x + sprite.shape[0], grid.shape[0])
    y1 = min(y + sprite.shape[1], grid.shape[1])
    if x0 >= x1 or y0 >= y1:
        return grid
    part = sprite[x0 - x:x1 - x, y0 - y:y1 - y]
    target = grid[x0:x1, y0:y1]
    if background is None:
        target[...] = part
    else:
        keep = part != background
        target[keep] = part[keep]
    return grid


def _blit_sequential(grid, sprite, x, y, background):
    for i in range(sprite.shape[0]):
        for j in range(sprite.shape[1]):
            if background is None or sprite[i, j] != background:
                if 0 <= x + i < grid.shape[0] and 0 <= y + j < grid.shape[1]:
                    grid[x + i, y + j] = sprite[i, j]
    return grid


def blit_object(grid, obj, background=Color.BLACK):
    """Draw a full-canvas object onto grid at its own position."""
    return blit(grid, obj, x=0, y=0, background=background)


def blit_sprite(grid, sprite, x, y, background=Color.BLACK):
    """Draw a sprite onto grid with its top-left corner at (x, y)."""
    return blit(grid, sprite, x=x, y=y, background=background)


def randomly_scatter_points(grid, color, density=0.5, background=Color.BLACK):
    """Paint random background cells with `color` (numpy's global RNG) until density is met."""
    colored = 0
    n, m = grid.shape
    while colored < density * n * m:
        px = np.random.randint(0, n)
        py = np.random.randint(0, m)
        if grid[px, py] == background:
            grid[px, py] = color
            colored += 1
    return grid


# ---------------------------------------------------------------- objects


def find_connected_components(grid, background=Color.BLACK, connectivity=4, monochromatic=True):
    """Connected components as full-canvas arrays (other cells = background), in label order;
    monochromatic=True labels each colour separately, in CPython set order of the colours."""
    structure = _structure(connectivity)
    if not monochromatic:
        return _components(grid, grid != background, structure, background)
    components = []
    for color in set(grid.flatten()) - {background}:
        components.extend(_components(grid, grid == color, structure, background))
    return components


def _components(grid, mask, structure, background):
    from scipy.ndimage import label

    labeled, n_objects = label(mask, structure)
    out = []
    for i in range(1, n_objects + 1):
        inside = labeled == i
        # Same arithmetic as the original, so result dtypes match too.
        out.append(grid * inside + background * (~inside))
    return out


def _colors_ok(array, colors, background) -> bool:
    # Distinct values give the same verdict (and the same errors) as testing every cell.
    return all((color in colors) or color == background for color in np.unique(array))


def detect_objects(grid, _=None, predicate=None, background=Color.BLACK, monochromatic=False, connectivity=None,
                   allowed_dimensions=None, colors=None, can_overlap=False):
    """Objects from connected components (only when `connectivity` is given) and/or window
    scans over `allowed_dimensions`; overlaps resolved unless can_overlap. Defaults give []."""
    objects = []
    if connectivity:
        objects = find_connected_components(grid, background=background, connectivity=connectivity,
                                            monochromatic=monochromatic)
        if colors:
            objects = [obj for obj in objects if _colors_ok(obj, colors, background)]
        if predicate:
            objects = [obj for obj in objects if predicate(crop(obj, background=background))]
    if allowed_dimensions:
        objects = [obj for obj in objects if obj.shape in allowed_dimensions]
        objects = objects + _window_objects(grid, objects, predicate, background, allowed_dimensions, colors)
    if can_overlap:
        return objects
    return _resolve_overlaps(grid, objects, background)


def _window_objects(grid, existing, predicate, background, allowed_dimensions, colors):
    """Full-canvas objects from every window of the allowed sizes that passes the filters."""
    found = []
    for n, m in allowed_dimensions:
        for i in range(grid.shape[0] - n + 1):
            for j in range(grid.shape[1] - m + 1):
                window = grid[i:i + n, j:j + m]
                if not np.any(window != background):
                    continue
                if colors is not None and not _colors_ok(window, colors, background):
                    continue
                if predicate is not None and not predicate(window):
                    continue
                candidate = np.full(grid.shape, background)
                candidate[i:i + n, j:j + m] = window
                # Compared with component objects only, not with other windows (as the original).
                if not any(np.all(candidate == obj) for obj in existing):
                    found.append(candidate)
    return found


def _resolve_overlaps(grid, objects, background):
    """Largest (bounding-box area, mass) first; keep non-overlapping objects, then the subset of
    overlapping ones that covers the most cells (on a tie, leaving the earlier one out wins)."""
    def size(obj):
        sprite = crop(obj, background)
        return (sprite.shape[0] * sprite.shape[1], np.sum(obj != background))

    objects = sorted(objects, key=size, reverse=True)
    masks = [obj != background for obj in objects]
    count = len(objects)
    overlap = np.zeros((count, count), dtype=bool)
    for i in range(count):
        for j in range(i + 1, count):
            overlap[i, j] = overlap[j, i] = np.any(masks[i] & masks[j])
    keep = [obj for i, obj in enumerate(objects) if not overlap[i].any()]
    contested = [i for i in range(count) if overlap[i].any()]
    target = np.zeros(np.shape(grid), dtype=bool)
    for i in contested:
        target |= masks[i]
    chosen, _ = _pick(contested, 0, [], np.zeros(np.shape(grid), dtype=bool), overlap, masks, np.sum(target))
    return keep + [objects[i] for i in chosen]


def _pick(contested, k, chosen, covered, overlap, masks, target):
    """Depth-first include/exclude search over contested[k:]; returns (indices, covered cells)."""
    if k == len(contested):
        return chosen, np.sum(covered)
    index = contested[k]
    if any(overlap[i, index] for i in chosen):
        return _pick(contested, k + 1, chosen, covered, overlap, masks, target)
    with_ids, with_score = _pick(contested, k + 1, chosen + [index], covered | masks[index], overlap, masks, target)
    if with_score == target:
        return with_ids, with_score
    without_ids, without_score = _pick(contested, k + 1, chosen, covered, overlap, masks, target)
    if with_score > without_score:
        return with_ids, with_score
    return without_ids, without_score


def is_contiguous(bitmask, background=Color.BLACK, connectivity=4) -> bool:
    """True when the foreground is exactly one connected component (all-background: False)."""
    from scipy.ndimage import label

    structure = _structure(connectivity)
    _labeled, n_objects = label(bitmask != background, structure)
    return n_objects == 1


def bounding_box(grid, background=Color.BLACK):
    """(x, y, width, height) of the foreground; all-background (n, m) grid -> (n, m, -n, -m)."""
    n, m = grid.shape
    xs, ys = np.nonzero(grid != background)
    if len(xs) == 0:
        return n, m, -n, -m
    x_min, y_min = int(xs.min()), int(ys.min())
    return x_min, y_min, int(xs.max()) - x_min + 1, int(ys.max()) - y_min + 1


def bounding_box_mask(grid, background=Color.BLACK):
    """Boolean array, True inside the foreground's bounding box."""
    mask = np.zeros_like(grid, dtype=bool)
    x, y, w, h = bounding_box(grid, background=background)
    mask[x:x + w, y:y + h] = True
    return mask


def crop(grid, background=Color.BLACK):
    """The bounding-box part of grid, as a view (writes go through to grid)."""
    x, y, w, h = bounding_box(grid, background)
    return grid[x:x + w, y:y + h]


_ANCHORS = {
    "upperleft": lambda x, y, w, h: (x, y),
    "upperright": lambda x, y, w, h: (x + w - 1, y),
    "lowerleft": lambda x, y, w, h: (x, y + h - 1),
    "lowerright": lambda x, y, w, h: (x + w - 1, y + h - 1),
    "center": lambda x, y, w, h: (x + (w - 1) / 2, y + (h - 1) / 2),
    "uppercenter": lambda x, y, w, h: (x + (w - 1) / 2, y),
    "lowercenter": lambda x, y, w, h: (x + (w - 1) / 2, y + h - 1),
    "leftcenter": lambda x, y, w, h: (x, y + (h - 1) / 2),
    "rightcenter": lambda x, y, w, h: (x + w - 1, y + (h - 1) / 2),
}


def object_position(obj, background=Color.BLACK, anchor="upper left"):
    """(x, y) of an anchor point of the object's bounding box; whole numbers come back as int."""
    anchor = anchor.lower().replace(" ", "").replace("top", "upper").replace("bottom", "lower")
    x, y, w, h = bounding_box(obj, background=background)
    assert anchor in _ANCHORS, "Invalid anchor"
    answer_x, answer_y = _ANCHORS[anchor](x, y, w, h)
    if abs(answer_x - int(answer_x)) < 1e-6:
        answer_x = int(answer_x)
    if abs(answer_y - int(answer_y)) < 1e-6:
        answer_y = int(answer_y)
    return answer_x, answer_y


def object_colors(obj, background=Color.BLACK):
    """Distinct foreground colours (numpy scalars) in CPython set order."""
    return list(set(obj.flatten()) - {background})


def object_interior(grid, background=Color.BLACK):
    """Foreground plus background cells not 4-connected (through background) to the edge."""
    from scipy.ndimage import label

    # Equivalent to the original's flood fills from every background edge cell.
    labeled, _count = label(grid == background, np.array(_CROSS))
    edge = np.concatenate([labeled[0, :], labeled[-1, :], labeled[:, 0], labeled[:, -1]])
    outside = np.isin(labeled, edge[edge > 0])
    return ~outside


def object_boundary(grid, background=Color.BLACK):
    """Foreground cells on the canvas edge or 4-adjacent to the exterior (holes don't count)."""
    from scipy import ndimage

    exterior = ~object_interior(grid, background)
    canvas_edge = np.zeros_like(grid, dtype=bool)
    canvas_edge[0, :] = canvas_edge[-1, :] = True
    canvas_edge[:, 0] = canvas_edge[:, -1] = True
    near_exterior = ndimage.binary_dilation(exterior, iterations=1)
    return (grid != background) & (near_exterior | canvas_edge)


def object_neighbors(grid, background=Color.BLACK, connectivity=4):
    """Background cells next to the object's boundary (4- or 8-neighbourhood)."""
    from scipy import ndimage

    boundary = object_boundary(grid, background)
    ring = _structure(connectivity).copy()
    ring[1, 1] = 0
    return ndimage.binary_dilation(boundary, structure=ring) & (grid == background)


# ---------------------------------------------------------------- moving, scaling, comparing


def translate(obj, x, y, background=Color.BLACK):
    """Shift by (x, y) into a new array of the same shape; vacated cells become background."""
    n, m = obj.shape
    out = np.zeros((n, m), dtype=obj.dtype)
    out[:, :] = background
    if not (isinstance(x, (int, np.integer)) and isinstance(y, (int, np.integer))):
        return _translate_cells(obj, out, x, y)  # non-integer shifts fail (or not) as before
    x, y = int(x), int(y)
    if abs(x) < n and abs(y) < m:
        out[max(x, 0):n + min(x, 0), max(y, 0):m + min(y, 0)] = obj[max(-x, 0):n - max(x, 0), max(-y, 0):m - max(y, 0)]
    return out


def _translate_cells(obj, out, x, y):
    n, m = obj.shape
    for i in range(n):
        for j in range(m):
            if 0 <= i + x < n and 0 <= j + y < m:
                out[i + x, j + y] = obj[i, j]
    return out


def scale_sprite(sprite, factor):
    """Each cell becomes a factor x factor block."""
    return np.kron(sprite, np.ones((factor, factor), dtype=sprite.dtype))


def scale_pattern(pattern, scale_factor):
    """Deprecated alias of scale_sprite (silent, like arc25's copy)."""
    return np.repeat(np.repeat(pattern, scale_factor, axis=0), scale_factor, axis=1)


def _touches(object1, object2, x1, y1, x2, y2, background, moves) -> bool:
    """Does some foreground cell of object1, shifted by a move, land on object2's foreground?"""
    _n1, _m1 = object1.shape  # fails like the original on a missing or non-2-D object
    n2, m2 = object2.shape
    dx, dy = int(x2 - x1), int(y2 - y1)
    xs, ys = np.nonzero(object1 != background)
    hit2 = object2 != background
    for u, v in moves:
        px, py = xs - dx + u, ys - dy + v
        inside = (px >= 0) & (px < n2) & (py >= 0) & (py < m2)
        if np.any(hit2[px[inside], py[inside]]):
            return True
    return False


def collision(_=None, object1=None, object2=None, x1=0, y1=0, x2=0, y2=0, background=Color.BLACK):
    """Do the foregrounds overlap with object1 at (x1, y1) and object2 at (x2, y2)?"""
    return _touches(object1, object2, x1, y1, x2, y2, background, [(0, 0)])


def contact(_=None, object1=None, object2=None, x1=0, y1=0, x2=0, y2=0, background=Color.BLACK, connectivity=4):
    """Do the objects overlap or touch (4- or 8-neighbourhood) at the given positions?"""
    if connectivity == 4:
        moves = [(0, 0), (0, 1), (0, -1), (1, 0), (-1, 0)]
    elif connectivity == 8:
        moves = [(0, 0), (0, 1), (0, -1), (1, 0), (-1, 0), (1, 1), (1, -1), (-1, 1), (-1, -1)]
    else:
        raise ValueError("Connectivity must be 4 or 8.")
    return _touches(object1, object2, x1, y1, x2, y2, background, moves)


def check_between_objects(obj1, obj2, x, y, padding=0, background=Color.BLACK) -> bool:
    """Is (x, y) in the gap between the two objects' bounding boxes, along either axis?"""
    objects = sorted([obj1, obj2], key=lambda obj: object_position(obj)[0])
    x1, y1, w1, h1 = bounding_box(objects[0], background=background)
    x2, y2, w2, h2 = bounding_box(objects[1], background=background)
    y_ok = y - padding >= max(y1, y2) and y + padding < min(y1 + h1, y2 + h2)
    if (x1 + w1 <= x < x2 and y_ok) or (x2 + w2 <= x < x1 and y_ok):
        return True
    objects = sorted(objects, key=lambda obj: object_position(obj)[1])
    x1, y1, w1, h1 = bounding_box(objects[0], background=background)
    x2, y2, w2, h2 = bounding_box(objects[1], background=background)
    x_ok = x - padding >= max(x1, x2) and x + padding < min(x1 + w1, x2 + w2)
    return bool((y1 + h1 <= y < y2 and x_ok) or (y2 + h2 <= y < y1 and x_ok))


# ---------------------------------------------------------------- symmetry


def _cast(value):
    # The originals' output casting: arrays truncate, Python/numpy floats round.
    if isinstance(value, np.ndarray):
        return value.astype(int)
    if isinstance(value, float):
        return int(round(value))
    return value


class Symmetry:
    """Base class of the symmetries returned by the detectors; apply() does nothing here."""

    def apply(self, x, y, iters=1):
        """Map (x, y) through the symmetry `iters` times."""


class TranslationalSymmetry(Symmetry):
    """Repeated translation by (translate_x, translate_y)."""

    def __init__(self, translate_x, translate_y):
        self.translate_x, self.translate_y = translate_x, translate_y

    def apply(self, x, y, iters=1):
        return _cast(x + iters * self.translate_x), _cast(y + iters * self.translate_y)

    def __repr__(self):
        return f"TranslationalSymmetry(translate_x={self.translate_x}, translate_y={self.translate_y})"

    __str__ = __repr__

    def _iter_range(self, grid_shape):
        import math

        top = 0
        if self.translate_x != 0:
            top = math.ceil(grid_shape[0] / abs(self.translate_x))
        if self.translate_y != 0:
            top = max(top, math.ceil(grid_shape[1] / abs(self.translate_y)))
        return (-top, top + 1)


class MirrorSymmetry(Symmetry):
    """Reflection across x = mirror_x and/or y = mirror_y (either may be None)."""

    def __init__(self, mirror_x, mirror_y):
        self.mirror_x, self.mirror_y = mirror_x, mirror_y

    def apply(self, x, y, iters=1):
        if iters % 2 == 0:
            return x, y
        if self.mirror_x is not None:
            x = 2 * self.mirror_x - x
        if self.mirror_y is not None:
            y = 2 * self.mirror_y - y
        return _cast(x), _cast(y)

    def __repr__(self):
        return f"MirrorSymmetry(mirror_x={self.mirror_x}, mirror_y={self.mirror_y})"

    __str__ = __repr__

    def _iter_range(self, grid_shape):
        return (0, 2)


def orbit(grid, x, y, symmetries):
    """Every in-grid point reachable from (x, y) by the symmetries (set order, no duplicates)."""
    import itertools

    ranges = [list(range(*sym._iter_range(grid.shape))) for sym in symmetries]
    points = []
    for iters in itertools.product(*ranges):
        new_x, new_y = x, y
        for sym, count in zip(symmetries, iters):
            new_x, new_y = sym.apply(new_x, new_y, count)
            if not (0 <= new_x < grid.shape[0] and 0 <= new_y < grid.shape[1]):
                break
        else:
            points.append((new_x, new_y))
    return list(set(points))


def _score_symmetry(grid, symmetry, ignore_colors, background=None):
    """(preserved, off_canvas, conflicts) over the cells not in ignore_colors (nor background)."""
    return _symmetry_scorer(grid, ignore_colors, background)(symmetry)


def _symmetry_scorer(grid, ignore_colors, background):
    """_score_symmetry with the per-grid work done once: the detectors score ~2n*m candidates."""
    n, m = grid.shape
    ignored = np.isin(grid, ignore_colors)
    occupied = ~ignored
    if background is not None:
        occupied &= grid != background
    xs, ys = np.nonzero(occupied)
    colors = grid[xs, ys]

    def score(symmetry):
        tx, ty = symmetry.apply(xs, ys)
        inside = (tx >= 0) & (tx < n) & (ty >= 0) & (ty < m)
        tx, ty = tx[inside], ty[inside]
        differs = colors[inside] != grid[tx, ty]
        # A conflict: lands on a different colour that is not itself ignored.
        conflicts = np.count_nonzero(differs & ~ignored[tx, ty])
        return np.count_nonzero(~differs), len(xs) - len(tx), conflicts

    return score


def detect_translational_symmetry(grid, ignore_colors=[Color.BLACK], background=None):
    """Best x-shift and/or best y-shift (ties -> most negative); else the best diagonal shift."""
    n, m = grid.shape
    score_of = _symmetry_scorer(grid, ignore_colors, background)

    def scored(candidates):
        out = []
        for sym in candidates:
            preserved, off_canvas, conflicts = score_of(sym)
            score = preserved - 0.01 * off_canvas - 100000 * conflicts
            if score > 0:
                out.append((sym, score))
        return out

    shifts_x = [t for t in range(1, n)] + [-t for t in range(1, n)]
    shifts_y = [t for t in range(1, m)] + [-t for t in range(1, m)]
    xs = scored([TranslationalSymmetry(t, 0) for t in shifts_x])
    ys = scored([TranslationalSymmetry(0, t) for t in shifts_y])
    found = []
    if xs:
        found.append(max(xs, key=lambda item: (item[1], -item[0].translate_x))[0])
    if ys:
        found.append(max(ys, key=lambda item: (item[1], -item[0].translate_y))[0])
    if not found:
        xys = scored([TranslationalSymmetry(a, b) for a in range(1, n) for b in range(1, m)])
        if xys:
            found.append(max(xys, key=lambda item: (item[1], -item[0].translate_x - item[0].translate_y))[0])
    return found


def detect_mirror_symmetry(grid, ignore_colors=[Color.BLACK], background=None):
    """All conflict-free mirror symmetries sharing the best score, in candidate order."""
    n, m = grid.shape
    candidates = [MirrorSymmetry(c + z, None) for c in range(n) for z in (0, 0.5)]
    candidates += [MirrorSymmetry(None, c + z) for c in range(m) for z in (0, 0.5)]
    candidates += [MirrorSymmetry(a + z, b + z) for a in range(n) for b in range(m) for z in (0, 0.5)]
    score_of = _symmetry_scorer(grid, ignore_colors, background)
    best, best_score = [], 0
    for sym in candidates:
        preserved, off_canvas, conflicts = score_of(sym)
        if conflicts > 0 or preserved == 0:
            continue
        score = preserved - 0.01 * off_canvas - 10000 * conflicts
        if score > best_score:
            best, best_score = [sym], score
        elif score == best_score:
            best.append(sym)
    return best


def detect_rotational_symmetry(grid, ignore_colors=[Color.BLACK], background=None):
    """The first best-scoring 90-degree rotation centre, or None."""

    class RotationalSymmetry(Symmetry):
        def __init__(self, center_x, center_y):
            self.center_x, self.center_y = center_x, center_y

        def apply(self, x, y, iters=1):
            x, y = x - self.center_x, y - self.center_y
            for _ in range(iters):  # negative iters: no turn at all (original quirk)
                x, y = y, -x
            return _cast(x + self.center_x), _cast(y + self.center_y)

        def _iter_range(self, grid_shape):
            return (0, 4)

    n, m = grid.shape
    score_of = _symmetry_scorer(grid, ignore_colors, background)
    best, best_score = None, 0
    for a in range(n):
        for b in range(m):
            for z in (0, 0.5):
                sym = RotationalSymmetry(a + z, b + z)
                preserved, off_canvas, conflicts = score_of(sym)
                score = preserved - 5 * off_canvas - 1000 * conflicts
                if score > best_score:
                    best, best_score = sym, score
    return best


# ---------------------------------------------------------------- debugging helpers

_ANSI_CODES = (0, 4, 1, 2, 3, 7, 13, 202, 6, 196)  # 256-colour codes for colours 0..9


def show_colored_grid(grid, text=True):
    """Print the grid in ANSI colours, one line per axis-1 index (or plot it with matplotlib)."""
    if not text:
        _plot_grid(grid)
        return
    for y in range(grid.shape[1]):
        for x in range(grid.shape[0]):
            cell = grid[x, y]
            print(f"\033[38;5;{_ANSI_CODES[cell]}m{cell}\033[0m", end="")
        print()


def _plot_grid(grid):
    import matplotlib.pyplot as plt
    from matplotlib.colors import ListedColormap

    rgb = ["#000000", "#0074D9", "#FF4136", "#2ECC40", "#FFDC00",
           "#A0A0A0", "#F012BE", "#FF851B", "#7FDBFF", "#870C25"]
    grid = grid.T
    plt.figure()
    axes = plt.gca()
    axes.pcolormesh(grid, cmap=ListedColormap(rgb), rasterized=True, vmin=0, vmax=9)
    axes.set_xticks(np.arange(0, grid.shape[1], 1))
    axes.set_yticks(np.arange(0, grid.shape[0], 1))
    axes.grid()
    axes.set_aspect(1)
    axes.invert_yaxis()
    plt.show()


def visualize(input_generator, transform, n_examples=5, n_attempts=100):
    """Run generator + transform up to n_attempts times; print successes and a failure summary."""
    import traceback

    successes, failures = [], []
    for _ in range(n_attempts):
        if len(successes) >= n_examples:
            break
        try:
            input_grid = input_generator()
            successes.append((input_grid, transform(input_grid.copy())))
        except Exception:
            failures.append(traceback.format_exc())
    for index, (input_grid, output_grid) in enumerate(successes):
        print("Example", index)
        print("Input:")
        show_colored_grid(input_grid)
        print("Output:")
        show_colored_grid(output_grid)
        print("\n\n---------------------\n\n")
    if failures:
        total = len(successes) + len(failures)
        print(f"{len(failures)}/{total} failures ({len(failures) / total}). For example:")
        print(failures[0])


# ---------------------------------------------------------------- random generation


def apply_symmetry(sprite, symmetry_type, background=Color.BLACK):
    """Mirror in place along axis 0 ("horizontal") or axis 1 ("vertical"); first half wins."""
    n, m = sprite.shape
    if symmetry_type == "horizontal":
        for y in range(m):
            for x in range(n // 2):
                a, b = sprite[x, y], sprite[n - 1 - x, y]
                sprite[x, y] = sprite[n - 1 - x, y] = a if a != background else b
    elif symmetry_type == "vertical":
        for x in range(n):
            for y in range(m // 2):
                a, b = sprite[x, y], sprite[x, m - 1 - y]
                sprite[x, y] = sprite[x, m - 1 - y] = a if a != background else b
    else:
        raise ValueError(f"Invalid symmetry type {symmetry_type}.")
    return sprite


def apply_diagonal_symmetry(sprite, background=Color.BLACK):
    """Make a square sprite symmetric about its main diagonal, in place (upper triangle wins)."""
    n, m = sprite.shape
    if n != m:
        raise ValueError("Diagonal symmetry requires a square sprite.")
    for x in range(n):
        for y in range(x + 1, m):
            c = background
            if sprite[y, x] != background:
                c = sprite[y, x]
            if sprite[x, y] != background:
                c = sprite[x, y]
            sprite[x, y] = sprite[y, x] = c
    return sprite


def generate_sprite(n, m, symmetry_type, fill_percentage=0.5, max_colors=9, color_palate=None, connectivity=4,
                    background=Color.BLACK):
    """Random-walk sprite of shape (n, m) with the given symmetry type (Python `random`)."""
    if color_palate is None:
        n_colors = 1
        while n_colors < max_colors and random.random() < 0.3:
            n_colors += 1
        color_palate = random.sample([c for c in Color.ALL_COLORS if c != background], n_colors)
    while True:
        sprite = _walk_sprite(n, m, symmetry_type, fill_percentage, color_palate, connectivity, background)
        if sprite is not None:
            return sprite
        # A non-contiguous "mirror" sprite: the original recursed with the same palette.


def _walk_sprite(n, m, symmetry_type, fill_percentage, palette, connectivity, background):
    """One attempt of generate_sprite after the palette is chosen; None = retry (mirror only)."""
    full_n, full_m = n, m
    grid = np.full((n, m), background)
    flip = None
    if symmetry_type == "not_symmetric":
        x, y = random.randint(0, n - 1), random.randint(0, m - 1)
    elif symmetry_type == "horizontal":
        x, y = random.randint(0, n - 1), m // 2
    elif symmetry_type == "vertical":
        x, y = n // 2, random.randint(0, m - 1)
    elif symmetry_type == "diagonal":
        flip = random.choice([True, False])
        x = random.randint(0, n - 1)
        y = x if flip else n - 1 - x
    elif symmetry_type == "mirror":
        n, m = int(n / 2 + 0.5), int(m / 2 + 0.5)
        x, y = random.randint(0, n - 1), random.randint(0, m - 1)
        grid = np.full((n, m), background)
    elif symmetry_type == "radial":
        assert n == m, "Radial symmetry requires a square grid."
        n, m = int(n / 2 + 0.5), int(m / 2 + 0.5)
        x, y = n - 1, m - 1  # the quadrant corner that becomes the centre keeps it connected
    else:
        raise ValueError(f"Invalid symmetry type {symmetry_type}.")
    moves = _moves(connectivity)
    _random_walk(grid, x, y, n, m, fill_percentage, palette, moves, background)
    return _finish_sprite(grid, symmetry_type, flip, full_n, full_m, connectivity, background)


def _moves(connectivity):
    if connectivity == 4:
        return [(0, 1), (0, -1), (1, 0), (-1, 0)]
    if connectivity == 8:
        return [(0, 1), (0, -1), (1, 0), (-1, 0), (1, 1), (1, -1), (-1, 1), (-1, -1)]
    raise ValueError("Connectivity must be 4 or 8.")


def _random_walk(grid, x, y, n, m, fill_percentage, palette, moves, background):
    color_index = 0
    while np.sum(grid != background) < fill_percentage * n * m:
        grid[x, y] = palette[color_index]
        if random.random() < 0.33:
            color_index = random.choice(range(len(palette)))
        dx, dy = random.choice(moves)
        if 0 <= x + dx < n and 0 <= y + dy < m:
            x, y = x + dx, y + dy


def _finish_sprite(grid, symmetry_type, flip, full_n, full_m, connectivity, background):
    if symmetry_type in ("horizontal", "vertical"):
        return apply_symmetry(grid, symmetry_type, background)
    if symmetry_type == "radial":
        out = np.full((full_n, full_n), background)
        blit(out, grid, background=background)
        for _ in range(3):
            blit(out, np.rot90(out), background=background)  # sequential blit of a view
        return out
    if symmetry_type == "mirror":
        n, m = grid.shape
        out = np.full((full_n, full_m), background)
        dx = 0 if full_n % 2 == 0 else -1
        dy = 0 if full_m % 2 == 0 else -1
        out[:n, :m] = grid
        out[n + dx:, :m] = np.flipud(grid)
        out[:n, m + dy:] = np.fliplr(grid)
        out[n + dx:, m + dy:] = np.flipud(np.fliplr(grid))
        return out if is_contiguous(out, background=background, connectivity=connectivity) else None
    if symmetry_type == "diagonal":
        if flip:
            return np.flipud(apply_diagonal_symmetry(np.flipud(grid), background))
        return apply_diagonal_symmetry(grid, background)
    return grid


def random_sprite(n, m, density=0.5, symmetry=None, color_palette=None, connectivity=4, background=Color.BLACK):
    """Random contiguous sprite touching all four sides; n, m may be ints, lists or ranges."""
    n = list(n) if isinstance(n, range) else n
    m = list(m) if isinstance(m, range) else m
    n = n if isinstance(n, list) else [n]
    m = m if isinstance(m, list) else [m]
    while True:
        # A sprite that misses a side is redrawn from the original arguments.
        sprite = _random_sprite_once(n, m, density, symmetry, color_palette, connectivity, background)
        if (np.sum(sprite[0, :] != background) > 0 and np.sum(sprite[-1, :] != background) > 0
                and np.sum(sprite[:, 0] != background) > 0 and np.sum(sprite[:, -1] != background) > 0):
            return sprite


def _random_sprite_once(ns, ms, density, symmetry, color_palette, connectivity, background):
    symmetry_types = ["horizontal", "vertical", "not_symmetric", "mirror"]
    if any(a == b for a in ns for b in ms):
        symmetry_types = symmetry_types + ["diagonal", "radial"]
    symmetry = symmetry or random.choice(symmetry_types)
    if symmetry in ["diagonal", "radial"]:
        n, m = random.choice([(a, b) for a in ns for b in ms if a == b])
    else:
        n = random.choice(ns)
        m = random.choice(ms)
    if n == 1 or m == 1:
        density = 1
    elif n == 2 or m == 2:
        density = max(density, 0.6)
    elif n == 3 or m == 3:
        density = max(density, 0.5)
    elif density != 1:
        density = max(0.4, min(0.95, random.gauss(density, 0.1)))
    sprite = generate_sprite(n, m, symmetry_type=symmetry, color_palate=color_palette, fill_percentage=density,
                             connectivity=connectivity, background=background)
    contiguous = is_contiguous(sprite, connectivity=connectivity, background=background)
    assert contiguous, "Generated sprite is not contiguous."
    return sprite


def random_free_location_for_sprite(grid, sprite, background=Color.BLACK, border_size=0, padding=0,
                                    padding_connectivity=8):
    """Random top-left (x, y) where the sprite's foreground misses the grid's (padded) foreground."""
    n, m = grid.shape
    sprite_xs, sprite_ys = np.nonzero(sprite != background)
    if padding > 0:
        from scipy import ndimage

        structure = _structure(padding_connectivity, "padding_connectivity must be 4 or 8.")
        occupied = ndimage.binary_dilation(grid != background, iterations=padding, structure=structure)
    else:
        occupied = grid != background
    free = []
    for x in range(border_size, n + 1 - border_size - sprite.shape[0]):
        for y in range(border_size, m + 1 - border_size - sprite.shape[1]):
            px, py = sprite_xs + x, sprite_ys + y
            # Every sprite cell must land inside and on a free cell (the original's pixel count).
            if np.all((px >= 0) & (px < n) & (py >= 0) & (py < m)) and not np.any(occupied[px, py]):
                free.append((x, y))
    if len(free) == 0:
        raise ValueError("No free location for sprite found.")
    return random.choice(free)


def random_free_location_for_object(*args, **kwargs):
    """Old name of random_free_location_for_sprite."""
    return random_free_location_for_sprite(*args, **kwargs)


def randomly_spaced_indices(max_len, n_indices, border_size=1, padding=1):
    """n_indices ascending indices in [0, max_len), at least `padding` apart (numpy int array)."""
    if border_size > 0:
        # The far margin is max_len - 2 whatever border_size is (the original's arithmetic).
        inner = randomly_spaced_indices(max_len - border_size - 2, n_indices, border_size=0, padding=padding)
        return inner + border_size
    marks = [0 for _ in range(max_len)]
    while sum(marks) < n_indices:
        candidates = [i for i in range(max_len)
                      if sum(marks[max(0, i - padding):min(i + 1 + padding, max_len)]) == 0]
        marks[random.choice(candidates)] = 1
    return np.flatnonzero(marks)
