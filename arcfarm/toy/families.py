"""Task families at several distances from the toy model's training distribution.

    arcfarm toy synth --family depth4 --out data/toy/families --validation 24 --n 64 --seed 0
    arcfarm toy synth --family all --out data/toy/families

writes `<out>/<family>.validation.jsonl` (for choosing settings) and `<out>/<family>.test.jsonl`
(for reported numbers only). Training (synth.py, split "train") uses compositions of depth 1-2,
no WITHHELD_PAIRS, and each primitive's own parameter ranges. From nearest to farthest:

- `in_distribution`: held-out compositions, drawn as the `heldout` split is (a withheld pair or a
  depth-3 chain); primitives and parameters as in training.
- `depth4`: chains of 4 primitives, parameters as in training.
- `out_of_range`: the first step takes a parameter value training never used (shift by 3-4, scale
  x4, tile 3x3/2x3/3x2, remove noise up to 3-4 pixels, recolour by size at threshold 2 or 6-7),
  alone or followed by one ordinary step. A task is rejected if the same program with an
  in-range value there (any direction, for shift) gives the same outputs: it needs the new value.
- `count_extrapolation`: the output needs more of something than training ever showed: tile one
  way 4-9 times (training: at most 3), scale by 5-6 (training: at most 3), or count 16-28 objects
  into a row (in 3,000 training tasks: inputs of at most 8 objects, rows of at most 10). Each
  task records that number as `"n"`.

Every task goes through synth.build_task, so its rendered program was executed (fresh `common`,
two seeds) and reproduces every output; grids are 1-30 a side with colours 0-9. A task is
deterministic in (seed, family, part, index); validation and test draw from separate streams and
a test task whose grids equal a validation task's is skipped, so the parts are disjoint.
"""
from __future__ import annotations

import hashlib
import json
import random
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np

from arcfarm.toy.inputs import many_objects
from arcfarm.toy.primitives import DIRECTIONS, PRIMITIVES, Context, compile_helpers
from arcfarm.toy.synth import (
    MAX_ATTEMPTS,
    WITHHELD_PAIRS,
    InputMaker,
    Rejected,
    Sampler,
    SynthConfig,
    _chain,
    build_task,
    choose_composition,
)

PARTS = ("validation", "test")


@dataclass(frozen=True)
class Plan:
    """What one candidate task will be: primitives in order, and what replaces the defaults."""

    names: list[str]
    samplers: dict[int, Sampler] = field(default_factory=dict)
    inputs: InputMaker | None = None
    # Raises Rejected when the built task does not belong to the family.
    check: Callable[[dict[str, Any], dict], None] | None = None
    meta: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Family:
    name: str
    about: str
    plan: Callable[[random.Random, str], Plan]  # (rng, variant)
    # Task i uses variants[i % len]: every kind of stretch or count gets its share, however often
    # its candidates are rejected.
    variants: tuple[str, ...] = ("",)


# -- near: held-out compositions and longer chains ------------------------------------------------

def _heldout_plan(rng: random.Random, variant: str) -> Plan:
    return Plan(choose_composition(rng, "heldout", SynthConfig()))


def _depth4_plan(rng: random.Random, variant: str) -> Plan:
    return Plan(_chain(rng, 4))


# -- out of range: one parameter value training never used ----------------------------------------

@dataclass(frozen=True)
class Stretch:
    """A primitive whose parameters get values outside training (`new`) instead of `trained`."""

    name: str
    new: Callable[[random.Random, Context], dict[str, Any] | None]
    trained: Callable[[dict[str, Any]], list[dict[str, Any]]]  # in-range alternatives to a choice


def _with(params: dict[str, Any], **changes: Any) -> dict[str, Any]:
    return {**params, **changes}


def _size_colors_new(rng: random.Random, ctx: Context) -> dict[str, Any]:
    big, small = rng.sample(range(1, 10), 2)
    return {"threshold": rng.choice([2, 6, 7]), "big_color": big, "small_color": small}


STRETCHES = (
    Stretch("shift", lambda rng, ctx: {"direction": rng.choice(DIRECTIONS), "steps": rng.choice([3, 4])},
            lambda p: [{"direction": d, "steps": s} for d in DIRECTIONS for s in (1, 2)]),
    Stretch("scale_up", lambda rng, ctx: {"factor": 4}, lambda p: [{"factor": f} for f in (2, 3)]),
    Stretch("tile", lambda rng, ctx: dict(zip(("rows", "cols"), rng.choice([(3, 3), (2, 3), (3, 2)]))),
            lambda p: [{"rows": r, "cols": c} for r, c in ((1, 2), (2, 1), (2, 2), (1, 3), (3, 1))]),
    Stretch("remove_noise", lambda rng, ctx: {"max_size": rng.choice([3, 4])},
            lambda p: [{"max_size": m} for m in (1, 2)]),
    Stretch("recolor_by_size", _size_colors_new, lambda p: [_with(p, threshold=t) for t in (3, 4, 5)]),
)


def _run_steps(helpers: dict, steps: list[dict[str, Any]], grid: np.ndarray) -> np.ndarray:
    for step in steps:
        grid = helpers[step["name"]](grid.copy(), **step["params"])
    return grid


def _needs_new_value(stretch: Stretch) -> Callable[[dict[str, Any], dict], None]:
    """Reject the task if the whole program, with an in-range value in its first step, solves it."""
    def check(task: dict[str, Any], helpers: dict) -> None:
        pairs = task["train"] + task["test"]
        first, rest = task["steps"][0], task["steps"][1:]
        for alt in stretch.trained(first["params"]):
            steps = [{"name": first["name"], "params": alt}, *rest]
            try:
                got = [_run_steps(helpers, steps, np.array(p["input"])) for p in pairs]
            except Exception:  # noqa: BLE001 - an alternative that fails is no equivalent
                continue
            if all(np.array_equal(g, np.array(p["output"])) for g, p in zip(got, pairs)):
                raise Rejected("in_range_equivalent")
    return check


def _out_of_range_plan(rng: random.Random, variant: str) -> Plan:
    stretch = next(s for s in STRETCHES if s.name == variant)
    names = [stretch.name]
    if rng.random() < 0.5:
        names.append(rng.choice([n for n in PRIMITIVES if n != stretch.name
                                 and (stretch.name, n) not in WITHHELD_PAIRS]))
    return Plan(names, samplers={0: stretch.new}, check=_needs_new_value(stretch),
                meta={"stretched": stretch.name})


# -- count extrapolation: more of something than training ever showed -----------------------------

# Training's parameter values stop at tile x3 and scale x3; in 3,000 training tasks (seed 0) no
# input held more than 8 objects and no count_objects row was longer than 10.
COUNT_RANGES = {"tile": (4, 9), "scale_up": (5, 6), "count_objects": (16, 28)}


def _count_inputs(rng: random.Random) -> tuple[str, list[np.ndarray]]:
    palette = tuple(rng.sample(range(1, 10), rng.randint(1, 3)))
    lo, hi = COUNT_RANGES["count_objects"]
    grids = []
    for _ in range(rng.choice((4, 5))):
        grid = many_objects(rng, palette, rng.randint(lo, hi), rng.randint(12, 15), rng.randint(12, 15))
        if grid is None:
            raise Rejected("objects_did_not_fit")
        grids.append(grid)
    return "many_objects", grids


def _count_plan(rng: random.Random, what: str) -> Plan:
    lo, hi = COUNT_RANGES[what]
    if what == "count_objects":
        return Plan(["count_objects"], inputs=_count_inputs, meta={"counted": what})
    n = rng.randint(lo, hi)
    if what == "scale_up":
        return Plan(["scale_up"], samplers={0: lambda r, c: {"factor": n}}, meta={"counted": what, "n": n})
    rows, cols = (1, n) if rng.random() < 0.5 else (n, 1)
    return Plan(["tile"], samplers={0: lambda r, c: {"rows": rows, "cols": cols}},
                meta={"counted": what, "n": n})


def _count_meta(task: dict[str, Any], plan: Plan) -> dict[str, Any]:
    if plan.meta.get("counted") == "count_objects":  # n = most objects in any grid of the task
        return {**plan.meta, "n": max(len(p["output"][0]) for p in task["train"] + task["test"])}
    return plan.meta


FAMILIES = {f.name: f for f in (
    Family("in_distribution", "held-out compositions (withheld pair or depth 3), trained parameters",
           _heldout_plan),
    Family("depth4", "chains of 4 primitives, trained parameters", _depth4_plan),
    Family("out_of_range", "first step with a parameter value training never used", _out_of_range_plan,
           tuple(s.name for s in STRETCHES)),
    Family("count_extrapolation", "tile 4-9 times, scale by 5-6, or count 16-28 objects", _count_plan,
           tuple(COUNT_RANGES)),
)}


# -- generating a family ------------------------------------------------------------------------------

_HELPERS = None


def make_family_task(family: str, part: str, index: int, seed: int) -> tuple[dict[str, Any] | None, Counter]:
    """Task number `index` of a family's part: deterministic in (seed, family, part, index)."""
    global _HELPERS
    if _HELPERS is None:
        _HELPERS = compile_helpers()
    fam = FAMILIES[family]
    rng = random.Random(f"{seed}:family:{family}:{part}:{index}")
    rejected: Counter = Counter()
    variant = fam.variants[index % len(fam.variants)]
    for _ in range(MAX_ATTEMPTS):
        plan = fam.plan(rng, variant)
        try:
            task = build_task(rng, plan.names, _HELPERS, SynthConfig(seed=seed), samplers=plan.samplers,
                              inputs=plan.inputs)
            if plan.check is not None:
                plan.check(task, _HELPERS)
        except Rejected as exc:
            rejected[str(exc)] += 1
            continue
        meta = _count_meta(task, plan)
        return {"id": f"toy-{family}-{part}-{seed}-{index:04d}", "split": part, "family": family,
                **({"family_detail": meta} if meta else {}), **task}, rejected
    return None, rejected


def fingerprint(task: dict[str, Any]) -> str:
    """Identity of a task's grids (what a solver sees and is scored on)."""
    return hashlib.sha256(json.dumps([task["train"], task["test"]]).encode()).hexdigest()


def family_parts(family: str, *, validation: int, test: int, seed: int) -> dict[str, Any]:
    """The family's validation and test tasks, and generation stats; test avoids validation's grids."""
    if family not in FAMILIES:
        raise ValueError(f"unknown family {family!r}; choose one of {', '.join(FAMILIES)} or all")
    if validation < 0 or test < 0:
        raise ValueError(f"task counts must be >= 0, got validation={validation}, test={test}")
    seen: set[str] = set()
    parts: dict[str, list[dict[str, Any]]] = {}
    stats: dict[str, Any] = {}
    for part, want in zip(PARTS, (validation, test)):
        tasks, rejected, index, duplicates = [], Counter(), 0, 0
        while len(tasks) < want and index < 20 * want + 100:
            task, rej = make_family_task(family, part, index, seed)
            index += 1
            rejected.update(rej)
            if task is None:
                continue
            fp = fingerprint(task)
            if fp in seen:
                duplicates += 1
                continue
            seen.add(fp)
            tasks.append(task)
        parts[part] = tasks
        stats[part] = {"tasks": len(tasks), "indices_tried": index, "duplicates_skipped": duplicates,
                       "rejected": dict(rejected)}
    return {"parts": parts, "stats": stats}


def write_family(family: str, out_dir: Path, *, validation: int = 24, test: int = 64, seed: int = 0,
                 log=None) -> dict[str, Any]:
    """Write `<out_dir>/<family>.validation.jsonl` and `.test.jsonl`; return what was written."""
    result = family_parts(family, validation=validation, test=test, seed=seed)
    out_dir.mkdir(parents=True, exist_ok=True)
    files = {}
    for part in PARTS:
        path = out_dir / f"{family}.{part}.jsonl"
        path.write_text("".join(json.dumps(t) + "\n" for t in result["parts"][part]))
        files[part] = {"path": str(path), **result["stats"][part]}
        if log:
            log(f"{family} {part}: {files[part]['tasks']} tasks -> {path}")
    return {"family": family, "about": FAMILIES[family].about, "seed": seed, "files": files}


def write_families(names: list[str], out_dir: Path, **kwargs: Any) -> list[dict[str, Any]]:
    return [write_family(name, out_dir, **kwargs) for name in names]
