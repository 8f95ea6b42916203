"""ARC grids on a page: the palette the ARC Prize viewer uses, one CSS class per colour."""
from __future__ import annotations

from typing import Any

# colour 0..9: black, blue, red, green, yellow, grey, magenta, orange, sky, maroon
PALETTE = ("#000000", "#0074D9", "#FF4136", "#2ECC40", "#FFDC00",
           "#AAAAAA", "#F012BE", "#FF851B", "#7FDBFF", "#870C25")


def palette_css() -> str:
    """`.c0 {...}` .. `.c9 {...}`: put once in the page's head."""
    return "\n".join(f".grid .c{i} {{ background: {colour}; }}" for i, colour in enumerate(PALETTE))


def grid_shape(grid: Any) -> tuple[int, int]:
    """(rows, columns) of a JSON grid; (0, 0) for None or an empty one."""
    if not grid or not isinstance(grid, list) or not isinstance(grid[0], list):
        return 0, 0
    return len(grid), len(grid[0])
