"""Random input grids for synthetic tasks: objects, sparse pixels, dense patterns, enclosures, symmetry.

A task draws one `Style` (the kind of picture, its palette and its size range) and then every input
grid from it, so the inputs of one task look alike, as in ARC. Black (0) is the background.
Randomness comes only from the `random.Random` passed in, so a seed reproduces a data set.
"""
from __future__ import annotations

import random
from dataclasses import dataclass

import numpy as np

KINDS = ("objects", "pixels", "dense", "small", "enclosures", "symmetric_lr", "symmetric_ud")

KIND_TEXT = {
    "objects": "several colored objects on a black background, sometimes with noise",
    "pixels": "a few colored pixels on a black background",
    "dense": "a small grid full of colored pixels",
    "small": "a small colored pattern",
    "enclosures": "hollow rectangles, some of them closed, with some noise",
    "symmetric_lr": "a left-right symmetric picture with a part missing (black)",
    "symmetric_ud": "a top-bottom symmetric picture with a part missing (black)",
    # only in the count-extrapolation family (families.py), never in training
    "many_objects": "many small colored objects on a black background",
}


@dataclass(frozen=True)
class Style:
    kind: str
    palette: tuple[int, ...]  # foreground colours this task uses
    min_side: int
    max_side: int
    noise: bool


_SIDES = {"objects": (6, 14), "pixels": (5, 14), "dense": (3, 7), "small": (2, 5),
          "enclosures": (7, 14), "symmetric_lr": (4, 10), "symmetric_ud": (4, 10)}


def random_style(kind: str, rng: random.Random) -> Style:
    lo, hi = _SIDES[kind]
    n_colors = rng.randint(1, 3) if kind in ("objects", "pixels", "enclosures") else rng.randint(2, 4)
    palette = tuple(rng.sample(range(1, 10), n_colors))
    return Style(kind, palette, lo, max(lo, rng.randint(lo + 1, hi)), noise=rng.random() < 0.4)


def random_input(style: Style, rng: random.Random) -> np.ndarray:
    h = rng.randint(style.min_side, style.max_side)
    w = rng.randint(style.min_side, style.max_side)
    return _MAKERS[style.kind](style, rng, h, w)


def _sprite(rng: random.Random, palette: tuple[int, ...], max_side: int = 4) -> np.ndarray:
    """A random 4-connected blob of 1..max_side x 1..max_side, one colour or (rarely) two."""
    h, w = rng.randint(1, max_side), rng.randint(1, max_side)
    cells = {(rng.randrange(h), rng.randrange(w))}
    target = rng.randint(1, h * w)
    while len(cells) < target:
        x, y = rng.choice(sorted(cells))
        dx, dy = rng.choice(((0, 1), (1, 0), (0, -1), (-1, 0)))
        if 0 <= x + dx < h and 0 <= y + dy < w:
            cells.add((x + dx, y + dy))
    sprite = np.zeros((h, w), dtype=np.int64)
    main = rng.choice(palette)
    other = rng.choice(palette) if rng.random() < 0.2 else main
    for x, y in cells:
        sprite[x, y] = other if rng.random() < 0.25 else main
    xs, ys = np.nonzero(sprite)
    return sprite[xs.min():xs.max() + 1, ys.min():ys.max() + 1]


def _place(grid: np.ndarray, sprite: np.ndarray, rng: random.Random, tries: int = 30) -> bool:
    """Put sprite where it and its 8-neighbourhood are all background."""
    h, w = sprite.shape
    for _ in range(tries):
        if h > grid.shape[0] or w > grid.shape[1]:
            return False
        x, y = rng.randint(0, grid.shape[0] - h), rng.randint(0, grid.shape[1] - w)
        if not grid[max(x - 1, 0):x + h + 1, max(y - 1, 0):y + w + 1].any():
            region = grid[x:x + h, y:y + w]
            region[sprite != 0] = sprite[sprite != 0]
            return True
    return False


def _noise(grid: np.ndarray, style: Style, rng: random.Random) -> None:
    if not style.noise:
        return
    for _ in range(rng.randint(1, 3)):
        x, y = rng.randrange(grid.shape[0]), rng.randrange(grid.shape[1])
        if grid[x, y] == 0:
            grid[x, y] = rng.choice(style.palette)


def _objects(style: Style, rng: random.Random, h: int, w: int) -> np.ndarray:
    grid = np.zeros((h, w), dtype=np.int64)
    for _ in range(rng.randint(2, 5)):
        _place(grid, _sprite(rng, style.palette), rng)
    _noise(grid, style, rng)
    return grid


def _pixels(style: Style, rng: random.Random, h: int, w: int) -> np.ndarray:
    grid = np.zeros((h, w), dtype=np.int64)
    for _ in range(rng.randint(2, 6)):
        grid[rng.randrange(h), rng.randrange(w)] = rng.choice(style.palette)
    return grid


def _dense(style: Style, rng: random.Random, h: int, w: int) -> np.ndarray:
    colors = (0,) + style.palette if rng.random() < 0.5 else style.palette
    return np.array([[rng.choice(colors) for _ in range(w)] for _ in range(h)], dtype=np.int64)


def _enclosures(style: Style, rng: random.Random, h: int, w: int) -> np.ndarray:
    grid = np.zeros((h, w), dtype=np.int64)
    for _ in range(rng.randint(1, 3)):
        bh, bw = rng.randint(3, min(6, h)), rng.randint(3, min(6, w))
        box = np.full((bh, bw), rng.choice(style.palette), dtype=np.int64)
        box[1:-1, 1:-1] = 0
        if rng.random() < 0.3:  # an open box: its inside is not enclosed
            box[rng.choice([0, bh - 1]), rng.randint(1, bw - 2)] = 0
        _place(grid, box, rng)
    _noise(grid, style, rng)
    return grid


def _symmetric(style: Style, rng: random.Random, h: int, w: int, axis: int) -> np.ndarray:
    grid = _dense(Style(style.kind, style.palette, 0, 0, False), rng, h, w)
    grid[grid == 0] = style.palette[0]
    grid = np.concatenate([grid, np.flip(grid, axis=axis)], axis=axis)
    # blank a rectangle inside one half, so its mirror image still holds the answer
    half = grid.shape[axis] // 2
    bh, bw = rng.randint(1, max(1, grid.shape[0] // 2)), rng.randint(1, max(1, grid.shape[1] // 2))
    if axis == 0:
        bh = min(bh, half)
        x, y = rng.randint(0, half - bh), rng.randint(0, grid.shape[1] - bw)
    else:
        bw = min(bw, half)
        x, y = rng.randint(0, grid.shape[0] - bh), rng.randint(0, half - bw)
    if rng.random() < 0.5:  # the missing part may be in either half
        grid = np.flip(grid, axis=axis).copy()
        x, y = (grid.shape[0] - x - bh, y) if axis == 0 else (x, grid.shape[1] - y - bw)
    grid[x:x + bh, y:y + bw] = 0
    return grid


_MAKERS = {
    "objects": _objects,
    "pixels": _pixels,
    "dense": _dense,
    "small": _dense,
    "enclosures": _enclosures,
    "symmetric_lr": lambda s, r, h, w: _symmetric(s, r, h, max(2, w // 2), axis=1),
    "symmetric_ud": lambda s, r, h, w: _symmetric(s, r, max(2, h // 2), w, axis=0),
}


def many_objects(rng: random.Random, palette: tuple[int, ...], count: int, h: int, w: int) -> np.ndarray | None:
    """Exactly `count` small separate objects (8-connected apart), or None if they did not fit."""
    grid = np.zeros((h, w), dtype=np.int64)
    for _ in range(count):
        if not _place(grid, _sprite(rng, palette, max_side=2), rng, tries=60):
            return None
    return grid
