"""The grid operations synthetic programs are composed of, each written once as Python source.

A primitive's `source` is a helper function that uses only numpy and the BARC `common` library.
The same text is what the generator executes (`compile_helpers`) and what the rendered program
contains (render.py), so the model learns to write code the sandbox can run: the sandbox provides
`common`, nothing else of ours.

Conventions: a helper takes the grid first and returns a new grid (never writes to its input);
Color.BLACK is the background; "left/right" and "up/down" refer to the rendered picture, where
axis 0 is the row.
"""
from __future__ import annotations

import random
import textwrap
from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np

COLOR_NAMES = ("BLACK", "BLUE", "RED", "GREEN", "YELLOW", "GRAY", "PINK", "ORANGE", "PURPLE", "BROWN")
DIRECTIONS = ("up", "down", "left", "right")


@dataclass(frozen=True)
class Context:
    """What parameter sampling may look at: the colours present in the grids the step will see."""

    present: tuple[int, ...]  # non-background colours found in every intermediate grid, union
    absent: tuple[int, ...]   # non-background colours found nowhere


@dataclass(frozen=True)
class Primitive:
    name: str
    source: str
    concept: str
    describe: Callable[[dict[str, Any]], str]  # "rotate the grid 90 degrees clockwise"
    sample: Callable[[random.Random, Context], dict[str, Any] | None] = lambda rng, ctx: {}
    first_inputs: tuple[str, ...] = ()  # input kinds it suits as the first step ("" = not first)
    color_params: tuple[str, ...] = field(default=())


def color_word(c: int) -> str:
    return COLOR_NAMES[c].lower()


def literal(name: str, value: Any, prim: Primitive) -> str:
    """A parameter as program text: colours as Color.NAME, the rest as Python literals."""
    if name in prim.color_params:
        return f"Color.{COLOR_NAMES[value]}"
    return repr(value)


# -- parameter samplers ------------------------------------------------------------------------

def _one_present(key: str):
    def sample(rng: random.Random, ctx: Context):
        return {key: rng.choice(ctx.present)} if ctx.present else None
    return sample


def _one_new(key: str):
    def sample(rng: random.Random, ctx: Context):
        return {key: rng.choice(ctx.absent or tuple(range(1, 10)))}
    return sample


def _present_to_new(src: str, dst: str):
    def sample(rng: random.Random, ctx: Context):
        if not ctx.present:
            return None
        a = rng.choice(ctx.present)
        return {src: a, dst: rng.choice([c for c in range(1, 10) if c != a])}
    return sample


def _two_present(rng: random.Random, ctx: Context):
    if len(ctx.present) < 2:
        return None
    a, b = rng.sample(list(ctx.present), 2)
    return {"color_a": a, "color_b": b}


def _direction(rng: random.Random, ctx: Context):
    return {"direction": rng.choice(DIRECTIONS)}


def _present_direction(rng: random.Random, ctx: Context):
    if not ctx.present:
        return None
    return {"color": rng.choice(ctx.present), "direction": rng.choice(DIRECTIONS)}


def _size_colors(rng: random.Random, ctx: Context):
    big, small = rng.sample(range(1, 10), 2)
    return {"threshold": rng.choice([3, 4, 5]), "big_color": big, "small_color": small}


def _halo(rng: random.Random, ctx: Context):
    if not ctx.present:
        return None
    return {"color": rng.choice(ctx.present), "halo_color": rng.choice(ctx.absent or tuple(range(1, 10)))}


# -- the primitives ----------------------------------------------------------------------------

_ALL_INPUTS = ("objects", "pixels", "dense", "small", "enclosures")
_SPARSE = ("objects", "pixels", "enclosures")
_P: list[Primitive] = []


def _add(name: str, source: str, concept: str, describe, sample=None, first=_ALL_INPUTS,
         colors: tuple[str, ...] = ()) -> None:
    _P.append(Primitive(name=name, source=textwrap.dedent(source).strip() + "\n", concept=concept,
                        describe=describe, sample=sample or (lambda rng, ctx: {}),
                        first_inputs=first, color_params=colors))


# geometry
_add("flip_horizontal", '''
    def flip_horizontal(grid):
        # mirror the grid from left to right
        return grid[:, ::-1].copy()
    ''', "reflection", lambda p: "mirror the grid from left to right")
_add("flip_vertical", '''
    def flip_vertical(grid):
        # mirror the grid from top to bottom
        return grid[::-1, :].copy()
    ''', "reflection", lambda p: "mirror the grid from top to bottom")
_add("rotate_clockwise", '''
    def rotate_clockwise(grid):
        return np.rot90(grid, k=-1).copy()
    ''', "rotation", lambda p: "rotate the grid 90 degrees clockwise")
_add("rotate_180", '''
    def rotate_180(grid):
        return np.rot90(grid, k=2).copy()
    ''', "rotation", lambda p: "rotate the grid by 180 degrees")
_add("rotate_counterclockwise", '''
    def rotate_counterclockwise(grid):
        return np.rot90(grid, k=1).copy()
    ''', "rotation", lambda p: "rotate the grid 90 degrees counterclockwise")
_add("transpose", '''
    def transpose(grid):
        # reflect across the main diagonal: rows become columns
        return grid.T.copy()
    ''', "diagonal reflection", lambda p: "reflect the grid across its main diagonal")
_add("crop_to_content", '''
    def crop_to_content(grid):
        # the smallest rectangle that contains every non-background pixel
        return crop(grid, background=Color.BLACK).copy()
    ''', "cropping", lambda p: "crop the grid to the bounding box of its non-black pixels", first=_SPARSE)
_add("scale_up", '''
    def scale_up(grid, factor):
        # every pixel becomes a factor x factor block
        return scale_sprite(grid, factor)
    ''', "scaling", lambda p: f"scale the grid up by a factor of {p['factor']}",
     lambda rng, ctx: {"factor": rng.choice([2, 3])}, first=("small",))
_add("tile", '''
    def tile(grid, rows, cols):
        # repeat the whole grid rows times downwards and cols times sideways
        return np.tile(grid, (rows, cols))
    ''', "repetition", lambda p: f"tile the grid {p['rows']} times downwards and {p['cols']} times sideways",
     lambda rng, ctx: dict(zip(("rows", "cols"), rng.choice([(1, 2), (2, 1), (2, 2), (1, 3), (3, 1)]))),
     first=("small",))
_add("mirror_right", '''
    def mirror_right(grid):
        # put a mirrored copy of the grid to its right
        return np.concatenate([grid, grid[:, ::-1]], axis=1)
    ''', "symmetry, reflection", lambda p: "append a left-right mirrored copy on the right",
     first=("small", "dense"))
_add("mirror_down", '''
    def mirror_down(grid):
        # put a mirrored copy of the grid below it
        return np.concatenate([grid, grid[::-1, :]], axis=0)
    ''', "symmetry, reflection", lambda p: "append an upside-down copy below",
     first=("small", "dense"))
_add("complete_symmetry_lr", '''
    def complete_symmetry_lr(grid):
        # the picture is left-right symmetric: fill each black pixel from its mirror image
        output_grid = grid.copy()
        mirrored = grid[:, ::-1]
        missing = output_grid == Color.BLACK
        output_grid[missing] = mirrored[missing]
        return output_grid
    ''', "symmetry completion", lambda p: "fill in the missing pixels so the picture is left-right symmetric",
     first=("symmetric_lr",))
_add("complete_symmetry_ud", '''
    def complete_symmetry_ud(grid):
        # the picture is top-bottom symmetric: fill each black pixel from its mirror image
        output_grid = grid.copy()
        mirrored = grid[::-1, :]
        missing = output_grid == Color.BLACK
        output_grid[missing] = mirrored[missing]
        return output_grid
    ''', "symmetry completion", lambda p: "fill in the missing pixels so the picture is top-bottom symmetric",
     first=("symmetric_ud",))
_add("shift", '''
    def shift(grid, direction, steps):
        # move every pixel, wrapping around the edges
        dx, dy = {"up": (-1, 0), "down": (1, 0), "left": (0, -1), "right": (0, 1)}[direction]
        return np.roll(grid, (dx * steps, dy * steps), axis=(0, 1))
    ''', "translation, wrapping", lambda p: f"shift everything {p['steps']} step(s) {p['direction']}, wrapping around",
     lambda rng, ctx: {"direction": rng.choice(DIRECTIONS), "steps": rng.choice([1, 2])})

# colour
_add("recolor", '''
    def recolor(grid, source_color, target_color):
        output_grid = grid.copy()
        output_grid[grid == source_color] = target_color
        return output_grid
    ''', "color change", lambda p: f"change every {color_word(p['source_color'])} pixel to {color_word(p['target_color'])}",
     _present_to_new("source_color", "target_color"), colors=("source_color", "target_color"))
_add("swap_colors", '''
    def swap_colors(grid, color_a, color_b):
        output_grid = grid.copy()
        output_grid[grid == color_a] = color_b
        output_grid[grid == color_b] = color_a
        return output_grid
    ''', "color swap", lambda p: f"swap {color_word(p['color_a'])} and {color_word(p['color_b'])}",
     _two_present, colors=("color_a", "color_b"))
_add("paint_all", '''
    def paint_all(grid, color):
        # every non-background pixel takes the same color
        output_grid = grid.copy()
        output_grid[grid != Color.BLACK] = color
        return output_grid
    ''', "color change", lambda p: f"paint every non-black pixel {color_word(p['color'])}",
     _one_new("color"), first=_SPARSE, colors=("color",))
_add("fill_background", '''
    def fill_background(grid, color):
        output_grid = grid.copy()
        output_grid[grid == Color.BLACK] = color
        return output_grid
    ''', "background color", lambda p: f"paint the black background {color_word(p['color'])}",
     _one_new("color"), first=_SPARSE, colors=("color",))
_add("remove_color", '''
    def remove_color(grid, color):
        output_grid = grid.copy()
        output_grid[grid == color] = Color.BLACK
        return output_grid
    ''', "filtering", lambda p: f"erase every {color_word(p['color'])} pixel",
     _one_present("color"), first=_SPARSE, colors=("color",))
_add("keep_color", '''
    def keep_color(grid, color):
        # only pixels of the given color survive
        output_grid = np.zeros_like(grid)
        output_grid[grid == color] = color
        return output_grid
    ''', "filtering", lambda p: f"keep only the {color_word(p['color'])} pixels",
     _one_present("color"), first=_SPARSE, colors=("color",))
_add("majority_color", '''
    def majority_color(grid):
        # a single pixel of the most common non-background color
        counts = [(grid == color).sum() for color in Color.NOT_BLACK]
        return np.full((1, 1), Color.NOT_BLACK[int(np.argmax(counts))])
    ''', "counting", lambda p: "output one pixel of the most common non-black color", first=_SPARSE)

# gravity
_add("gravity", '''
    def gravity(grid, direction):
        # every pixel falls towards the edge until it lands on the edge or on another pixel
        turns = {"down": 0, "left": 1, "up": 2, "right": -1}[direction]
        rotated = np.rot90(grid, k=turns)
        fallen = np.zeros_like(rotated)
        for col in range(rotated.shape[1]):
            pixels = [c for c in rotated[:, col] if c != Color.BLACK]
            if pixels:
                fallen[rotated.shape[0] - len(pixels):, col] = pixels
        return np.rot90(fallen, k=-turns).copy()
    ''', "gravity", lambda p: f"let every pixel fall {p['direction']}", _direction, first=("pixels", "objects"))

# enclosures, borders and outlines
_add("fill_enclosed", '''
    def fill_enclosed(grid, color):
        # black regions that cannot reach the edge of the grid are enclosed: fill them
        output_grid = grid.copy()
        enclosed = object_interior(grid, background=Color.BLACK) & (grid == Color.BLACK)
        output_grid[enclosed] = color
        return output_grid
    ''', "flood fill, enclosure", lambda p: f"fill the enclosed black regions with {color_word(p['color'])}",
     _one_new("color"), first=("enclosures",), colors=("color",))
_add("hollow_out", '''
    def hollow_out(grid):
        # pixels whose four neighbours are all colored are interior: make them black
        padded = np.pad(grid != Color.BLACK, 1, constant_values=False)
        inner = padded[:-2, 1:-1] & padded[2:, 1:-1] & padded[1:-1, :-2] & padded[1:-1, 2:]
        output_grid = grid.copy()
        output_grid[inner & (grid != Color.BLACK)] = Color.BLACK
        return output_grid
    ''', "interior, hollow shapes", lambda p: "hollow out every shape, keeping only its outline",
     first=("objects", "dense"))
_add("outline_shapes", '''
    def outline_shapes(grid, color):
        # colored pixels that touch the background or the edge become the outline color
        padded = np.pad(grid != Color.BLACK, 1, constant_values=False)
        inner = padded[:-2, 1:-1] & padded[2:, 1:-1] & padded[1:-1, :-2] & padded[1:-1, 2:]
        output_grid = grid.copy()
        output_grid[(grid != Color.BLACK) & ~inner] = color
        return output_grid
    ''', "boundary", lambda p: f"color the outline of every shape {color_word(p['color'])}",
     _one_new("color"), first=("objects",), colors=("color",))
_add("draw_border", '''
    def draw_border(grid, color):
        output_grid = grid.copy()
        output_grid[0, :] = color
        output_grid[-1, :] = color
        output_grid[:, 0] = color
        output_grid[:, -1] = color
        return output_grid
    ''', "border", lambda p: f"draw a {color_word(p['color'])} border around the grid",
     _one_new("color"), colors=("color",))

# lines from pixels
_add("extend_vertical", '''
    def extend_vertical(grid, color):
        # every pixel of the color becomes a full column line over the background
        output_grid = grid.copy()
        for x, y in np.argwhere(grid == color):
            column = output_grid[:, y]
            column[column == Color.BLACK] = color
        return output_grid
    ''', "lines, pixel extension", lambda p: f"extend each {color_word(p['color'])} pixel into a vertical line",
     _one_present("color"), first=("pixels",), colors=("color",))
_add("extend_horizontal", '''
    def extend_horizontal(grid, color):
        # every pixel of the color becomes a full row line over the background
        output_grid = grid.copy()
        for x, y in np.argwhere(grid == color):
            row = output_grid[x, :]
            row[row == Color.BLACK] = color
        return output_grid
    ''', "lines, pixel extension", lambda p: f"extend each {color_word(p['color'])} pixel into a horizontal line",
     _one_present("color"), first=("pixels",), colors=("color",))
_add("shoot_rays", '''
    def shoot_rays(grid, color, direction):
        # each pixel of the color shoots a ray until it hits the edge or another pixel
        dx, dy = {"up": (-1, 0), "down": (1, 0), "left": (0, -1), "right": (0, 1)}[direction]
        output_grid = grid.copy()
        for x, y in np.argwhere(grid == color):
            draw_line(output_grid, x + dx, y + dy, direction=(dx, dy), color=color,
                      stop_at_color=Color.NOT_BLACK)
        return output_grid
    ''', "lines, rays", lambda p: f"shoot a ray {p['direction']} from each {color_word(p['color'])} pixel",
     _present_direction, first=("pixels", "objects"), colors=("color",))
_add("connect_pixels", '''
    def connect_pixels(grid, color):
        # join pixels of the color that share a row or a column with a line
        output_grid = grid.copy()
        points = np.argwhere(grid == color)
        for x1, y1 in points:
            for x2, y2 in points:
                if (x1 == x2 and y1 < y2) or (y1 == y2 and x1 < x2):
                    draw_line(output_grid, x1, y1, end_x=x2, end_y=y2, color=color)
        return output_grid
    ''', "lines, connecting", lambda p: f"connect {color_word(p['color'])} pixels in the same row or column",
     _one_present("color"), first=("pixels",), colors=("color",))
_add("halo", '''
    def halo(grid, color, halo_color):
        # surround every pixel of the color with a ring of halo_color on the background
        output_grid = grid.copy()
        for x, y in np.argwhere(grid == color):
            for dx in (-1, 0, 1):
                for dy in (-1, 0, 1):
                    nx, ny = x + dx, y + dy
                    if 0 <= nx < grid.shape[0] and 0 <= ny < grid.shape[1] and grid[nx, ny] == Color.BLACK:
                        output_grid[nx, ny] = halo_color
        return output_grid
    ''', "surrounding", lambda p: f"surround each {color_word(p['color'])} pixel with {color_word(p['halo_color'])}",
     _halo, first=("pixels",), colors=("color", "halo_color"))

# objects (connected components, 8-connected, multicolour)
_OBJECTS = '''find_connected_components(grid, background=Color.BLACK, connectivity=8, monochromatic=False)'''
_add("keep_largest", f'''
    def keep_largest(grid):
        objects = {_OBJECTS}
        return max(objects, key=lambda obj: (obj != Color.BLACK).sum())
    ''', "objects, size", lambda p: "keep only the largest object", first=("objects",))
_add("keep_smallest", f'''
    def keep_smallest(grid):
        objects = {_OBJECTS}
        return min(objects, key=lambda obj: (obj != Color.BLACK).sum())
    ''', "objects, size", lambda p: "keep only the smallest object", first=("objects",))
_add("crop_largest", f'''
    def crop_largest(grid):
        objects = {_OBJECTS}
        largest = max(objects, key=lambda obj: (obj != Color.BLACK).sum())
        return crop(largest, background=Color.BLACK).copy()
    ''', "objects, cropping", lambda p: "cut out the largest object", first=("objects",))
_add("remove_noise", f'''
    def remove_noise(grid, max_size):
        # objects with at most max_size pixels are noise
        output_grid = grid.copy()
        for obj in {_OBJECTS}:
            if (obj != Color.BLACK).sum() <= max_size:
                output_grid[obj != Color.BLACK] = Color.BLACK
        return output_grid
    ''', "denoising, objects", lambda p: f"remove every object of at most {p['max_size']} pixel(s)",
     lambda rng, ctx: {"max_size": rng.choice([1, 2])}, first=("objects", "enclosures"))
_add("recolor_largest", f'''
    def recolor_largest(grid, color):
        objects = {_OBJECTS}
        largest = max(objects, key=lambda obj: (obj != Color.BLACK).sum())
        output_grid = grid.copy()
        output_grid[largest != Color.BLACK] = color
        return output_grid
    ''', "objects, size, color change", lambda p: f"color the largest object {color_word(p['color'])}",
     _one_new("color"), first=("objects",), colors=("color",))
_add("recolor_by_size", f'''
    def recolor_by_size(grid, threshold, big_color, small_color):
        # objects with at least threshold pixels are big, the others small
        output_grid = grid.copy()
        for obj in {_OBJECTS}:
            size = (obj != Color.BLACK).sum()
            output_grid[obj != Color.BLACK] = big_color if size >= threshold else small_color
        return output_grid
    ''', "objects, size, color change",
     lambda p: (f"color objects of {p['threshold']} or more pixels {color_word(p['big_color'])} "
                f"and smaller ones {color_word(p['small_color'])}"),
     _size_colors, first=("objects",), colors=("big_color", "small_color"))
_add("move_to_edge", f'''
    def move_to_edge(grid, direction):
        # slide every object towards the edge until it touches the edge or another object
        dx, dy = {{"up": (-1, 0), "down": (1, 0), "left": (0, -1), "right": (0, 1)}}[direction]
        objects = {_OBJECTS}
        # objects nearest to the edge move first so the others stack against them
        objects.sort(key=lambda obj: -(np.argwhere(obj != Color.BLACK) @ np.array([dx, dy])).max())
        output_grid = np.zeros_like(grid)
        for obj in objects:
            while True:
                moved = translate(obj, dx, dy, background=Color.BLACK)
                if (moved != Color.BLACK).sum() < (obj != Color.BLACK).sum():
                    break
                if np.any((moved != Color.BLACK) & (output_grid != Color.BLACK)):
                    break
                obj = moved
            blit_object(output_grid, obj, background=Color.BLACK)
        return output_grid
    ''', "objects, sliding", lambda p: f"slide every object {p['direction']} as far as it goes",
     _direction, first=("objects",))
_add("count_objects", f'''
    def count_objects(grid, color):
        # a row with one pixel per object
        objects = {_OBJECTS}
        return np.full((1, len(objects)), color)
    ''', "counting, objects", lambda p: f"output a {color_word(p['color'])} row with one pixel per object",
     _one_new("color"), first=("objects", "pixels"), colors=("color",))
_add("fill_bounding_boxes", f'''
    def fill_bounding_boxes(grid, color):
        # fill the black pixels inside each object's bounding box
        output_grid = grid.copy()
        for obj in {_OBJECTS}:
            x, y, width, height = bounding_box(obj, background=Color.BLACK)
            box = output_grid[x:x + width, y:y + height]
            box[box == Color.BLACK] = color
        return output_grid
    ''', "objects, bounding box", lambda p: f"fill each object's bounding box with {color_word(p['color'])}",
     _one_new("color"), first=("objects",), colors=("color",))

PRIMITIVES: dict[str, Primitive] = {p.name: p for p in _P}


def compile_helpers() -> dict[str, Callable[..., np.ndarray]]:
    """Every primitive's source executed once, with the `common` names in scope, as callables."""
    import arcfarm.arc.common as common

    namespace: dict[str, Any] = {k: v for k, v in vars(common).items() if not k.startswith("_")}
    namespace["np"] = np
    for prim in _P:
        exec(compile(prim.source, f"<primitive {prim.name}>", "exec"), namespace)
    return {p.name: namespace[p.name] for p in _P}
