'''The programs `arcfarm bench exec` runs: trivial ones, and a BARC-style mix that uses `common`.

The mix imitates what the induction model writes: object detection, flood fills, colour maps,
crops, tiling, symmetry. Two of the 22 raise on most grids (about 10% of runs fail with an
exception, as sampled programs do) and one loops forever (it is run separately, to measure the
timeout overrun; infinite loops would hang the unsandboxed baseline).
'''
from __future__ import annotations

HEADER = "from common import *\n\nimport numpy as np\nfrom typing import *\n\n"

IDENTITY = "def transform(input_grid):\n    return input_grid\n"
FLIP = HEADER + "def transform(input_grid):\n    return np.flipud(input_grid)\n"

_BODIES = {
    "largest_object_crop": """
def transform(input_grid):
    objects = find_connected_components(input_grid, background=Color.BLACK, connectivity=8, monochromatic=False)
    largest = max(objects, key=lambda o: np.sum(o != Color.BLACK))
    return crop(largest, background=Color.BLACK)
""",
    "recolor_by_size": """
def transform(input_grid):
    output_grid = np.copy(input_grid)
    for obj in find_connected_components(input_grid, monochromatic=True, connectivity=4):
        size = np.sum(obj != Color.BLACK)
        output_grid[obj != Color.BLACK] = Color.RED if size > 3 else Color.BLUE
    return output_grid
""",
    "fill_enclosed": """
def transform(input_grid):
    output_grid = np.copy(input_grid)
    mask = input_grid == Color.BLACK
    outside = np.zeros_like(input_grid)
    h, w = input_grid.shape
    for x in range(h):
        for y in range(w):
            if (x in (0, h - 1) or y in (0, w - 1)) and mask[x, y] and outside[x, y] == 0:
                flood_fill(outside, x, y, Color.GREEN)
    output_grid[(outside == Color.BLACK) & mask] = Color.YELLOW
    return output_grid
""",
    "color_map": """
def transform(input_grid):
    mapping = {Color.BLUE: Color.RED, Color.RED: Color.BLUE, Color.GREEN: Color.YELLOW, Color.YELLOW: Color.GREEN}
    output_grid = np.copy(input_grid)
    for a, b in mapping.items():
        output_grid[input_grid == a] = b
    return output_grid
""",
    "tile_2x2": """
def transform(input_grid):
    if max(input_grid.shape) > 15:
        return input_grid
    return np.tile(input_grid, (2, 2))
""",
    "mirror_complete": """
def transform(input_grid):
    output_grid = np.copy(input_grid)
    flipped = np.fliplr(input_grid)
    output_grid[output_grid == Color.BLACK] = flipped[output_grid == Color.BLACK]
    return output_grid
""",
    "symmetry_detect": """
def transform(input_grid):
    symmetries = detect_mirror_symmetry(input_grid, ignore_colors=[Color.BLACK])
    output_grid = np.copy(input_grid)
    for x, y in np.argwhere(input_grid != Color.BLACK)[:20]:
        for sym in symmetries:
            sx, sy = sym.apply(x, y)
            if 0 <= sx < output_grid.shape[0] and 0 <= sy < output_grid.shape[1]:
                output_grid[sx, sy] = input_grid[x, y]
    return output_grid
""",
    "bounding_boxes": """
def transform(input_grid):
    output_grid = np.copy(input_grid)
    for obj in detect_objects(input_grid, background=Color.BLACK, monochromatic=True, connectivity=8):
        x, y, w, h = bounding_box(obj)
        output_grid[x:x + w, y:y + h][output_grid[x:x + w, y:y + h] == Color.BLACK] = Color.GREY
    return output_grid
""",
    "scale_up": """
def transform(input_grid):
    if max(input_grid.shape) > 10:
        return input_grid
    return scale_sprite(input_grid, 3)
""",
    "draw_lines": """
def transform(input_grid):
    output_grid = np.copy(input_grid)
    for x, y in np.argwhere(input_grid == Color.RED)[:10]:
        draw_line(output_grid, x, y, direction=(0, 1), color=Color.RED)
        draw_line(output_grid, x, y, direction=(1, 0), color=Color.RED)
    return output_grid
""",
    "majority_color": """
def transform(input_grid):
    colors, counts = np.unique(input_grid[input_grid != Color.BLACK], return_counts=True)
    if len(colors) == 0:
        return input_grid
    return np.full((3, 3), colors[np.argmax(counts)])
""",
    "gravity_down": """
def transform(input_grid):
    output_grid = np.zeros_like(input_grid)
    for y in range(input_grid.shape[1]):
        column = [c for c in input_grid[:, y] if c != Color.BLACK]
        for i, c in enumerate(reversed(column)):
            output_grid[input_grid.shape[0] - 1 - i, y] = c
    return output_grid
""",
    "outline_objects": """
def transform(input_grid):
    output_grid = np.copy(input_grid)
    for obj in find_connected_components(input_grid, monochromatic=True):
        boundary = object_boundary(obj)
        output_grid[boundary] = Color.TEAL
    return output_grid
""",
    "translate_objects": """
def transform(input_grid):
    output_grid = np.zeros_like(input_grid)
    for obj in find_connected_components(input_grid, monochromatic=False):
        blit_object(output_grid, translate(obj, 1, 0), background=Color.BLACK)
    return output_grid
""",
    "rotate_if_square": """
def transform(input_grid):
    h, w = input_grid.shape
    return np.rot90(input_grid) if h == w else np.transpose(input_grid)
""",
    "count_objects": """
def transform(input_grid):
    n = len(find_connected_components(input_grid, connectivity=8, monochromatic=False))
    output_grid = np.zeros((1, max(1, min(n, 30))), dtype=int)
    output_grid[:, :] = Color.BLUE
    return output_grid
""",
    "interior_fill": """
def transform(input_grid):
    output_grid = np.copy(input_grid)
    for obj in find_connected_components(input_grid, monochromatic=True):
        output_grid[object_interior(obj) & (input_grid == Color.BLACK)] = Color.ORANGE
    return output_grid
""",
    "random_sprite_overlay": """
def transform(input_grid):
    sprite = random_sprite(3, 3, color_palette=[Color.PINK])
    output_grid = np.copy(input_grid)
    if min(input_grid.shape) >= 3:
        blit_sprite(output_grid, sprite, x=0, y=0, background=Color.BLACK)
    return output_grid
""",
    "crop_nonblack": """
def transform(input_grid):
    return crop(input_grid, background=Color.BLACK)
""",
    "raises_index": """
def transform(input_grid):
    objects = find_connected_components(input_grid)
    return crop(objects[7])
""",
    "raises_value": """
def transform(input_grid):
    h, w = input_grid.shape
    if h == w:
        return input_grid
    raise ValueError("expected a square grid")
""",
}

MIX = {name: HEADER + body.lstrip("\n") for name, body in _BODIES.items()}

LOOP = HEADER + """
def transform(input_grid):
    output_grid = np.copy(input_grid)
    while True:
        try:
            output_grid = np.rot90(output_grid)
        except Exception:
            pass
"""

SIGNAL_IGNORING_LOOP = HEADER + """
import signal

def transform(input_grid):
    signal.signal(signal.SIGALRM, signal.SIG_IGN)
    while True:
        pass
"""
