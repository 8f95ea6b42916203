"""Program text in the BARC response format for a composition of primitives.

    from common import *

    import numpy as np
    from typing import *

    # concepts:
    # rotation, color change

    # description:
    # In the input you will see ...
    # To make the output, rotate the grid 90 degrees clockwise, then change every red pixel to blue.

    def rotate_clockwise(grid): ...        # each primitive's helper, in order of first use

    def transform(input_grid):
        grid = rotate_clockwise(input_grid)
        output_grid = recolor(grid, Color.RED, Color.BLUE)
        return output_grid

Helpers are defined in the program itself: the sandbox provides `common` and nothing of ours.
"""
from __future__ import annotations

import textwrap
from dataclasses import dataclass
from typing import Any

from arcfarm.toy.inputs import KIND_TEXT
from arcfarm.toy.primitives import PRIMITIVES, literal

HEADER = "from common import *\n\nimport numpy as np\nfrom typing import *\n"


@dataclass(frozen=True)
class Step:
    name: str
    params: tuple[tuple[str, Any], ...]  # in the helper's parameter order

    @property
    def kwargs(self) -> dict[str, Any]:
        return dict(self.params)

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "params": dict(self.params)}


def step_call(step: Step, argument: str) -> str:
    prim = PRIMITIVES[step.name]
    args = [argument] + [literal(k, v, prim) for k, v in step.params]
    return f"{step.name}({', '.join(args)})"


def description(kind: str, steps: list[Step]) -> str:
    actions = [PRIMITIVES[s.name].describe(s.kwargs) for s in steps]
    todo = actions[0] if len(actions) == 1 else ", then ".join(actions)
    return f"In the input you will see {KIND_TEXT[kind]}.\nTo make the output, {todo}."


def concepts(steps: list[Step]) -> str:
    seen: list[str] = []
    for s in steps:
        for c in PRIMITIVES[s.name].concept.split(", "):
            if c not in seen:
                seen.append(c)
    return ", ".join(seen)


def render_program(kind: str, steps: list[Step]) -> str:
    """The full program text for `steps` applied in order to inputs of `kind`."""
    helpers: list[str] = []
    for s in steps:
        source = PRIMITIVES[s.name].source
        if source not in helpers:
            helpers.append(source)
    comment = "\n".join("# " + line for line in description(kind, steps).splitlines())
    body = []
    current = "input_grid"
    for i, s in enumerate(steps):
        target = "output_grid" if i == len(steps) - 1 else "grid"
        body.append(f"{target} = {step_call(s, current)}")
        current = target
    body.append("return output_grid")
    parts = [
        HEADER,
        f"# concepts:\n# {concepts(steps)}\n",
        f"# description:\n{comment}\n",
        *helpers,
        "def transform(input_grid):\n" + textwrap.indent("\n".join(body), "    "),
    ]
    return "\n".join(parts)
