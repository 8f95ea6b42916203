"""Synthetic tasks seen in an augmented frame, with the program that solves them in that frame.

    arcfarm toy augment --tasks train.jsonl --frames 4 --seed 0 --out train.aug.jsonl --workers 16

The loop prompts the model with augmented tasks (arc/augment.py: a dihedral transform and a
permutation of the colours 1-9). A program that solves task T does not in general solve the
augmented task A(T): that needs the conjugate A . P . A^-1, which for our primitives is again a
composition of primitives with mapped parameters: colours through the permutation, directions
through the transform, vertical <-> horizontal twins (and tile's rows <-> cols) when the transform
swaps the axes, and each dihedral primitive to the one it becomes. Some have no such form (a
mirrored copy on the left, an anti-transpose, a counting row that would become a column); ties
(the largest of two equal objects) may break differently. So a proposed conjugate is rendered and
executed on the augmented grids, and kept only if it reproduces every augmented output; a frame
that fails is skipped (counted), never written with a wrong program.
"""
from __future__ import annotations

import json
import random
from collections import Counter
from multiprocessing import get_context
from pathlib import Path
from typing import Any, Callable

import numpy as np

from arcfarm.arc.augment import IDENTITY, Augmentation, augmentations_for
from arcfarm.toy.primitives import PRIMITIVES
from arcfarm.toy.render import Step, render_program
from arcfarm.toy.synth import load_jsonl, run_program_text

_VECTORS = {"up": (-1, 0), "down": (1, 0), "left": (0, -1), "right": (0, 1)}
_TWINS = {"extend_vertical": "extend_horizontal", "complete_symmetry_lr": "complete_symmetry_ud",
          "mirror_right": "mirror_down"}
_TWINS.update({b: a for a, b in list(_TWINS.items())})
_KIND_TWINS = {"symmetric_lr": "symmetric_ud", "symmetric_ud": "symmetric_lr"}
_GEOMETRIC: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "flip_horizontal": lambda g: g[:, ::-1], "flip_vertical": lambda g: g[::-1, :],
    "rotate_clockwise": lambda g: np.rot90(g, -1), "rotate_180": lambda g: np.rot90(g, 2),
    "rotate_counterclockwise": lambda g: np.rot90(g, 1), "transpose": lambda g: g.T,
}
_PROBE = np.arange(6).reshape(2, 3)  # no symmetry: tells every dihedral transform apart


def _transform(d: int, grid: np.ndarray) -> np.ndarray:
    """Dihedral transform d exactly as the loop applies it (colours left alone)."""
    return np.asarray(Augmentation(d, tuple(range(10))).apply_grid(grid))


def _inverse(d: int) -> int:
    return next(e for e in range(8) if np.array_equal(_transform(e, _transform(d, _PROBE)), _PROBE))


def swaps_axes(d: int) -> bool:
    return _transform(d, _PROBE).shape != _PROBE.shape


def direction_under(d: int, direction: str) -> str:
    """Where a move in `direction` points after the grid is transformed by dihedral d."""
    grid = np.zeros((3, 3), dtype=np.int64)
    dx, dy = _VECTORS[direction]
    grid[1 + dx, 1 + dy] = 1
    (x, y), = np.argwhere(_transform(d, grid) == 1)
    return next(k for k, v in _VECTORS.items() if v == (x - 1, y - 1))


def geometric_under(d: int, name: str) -> str | None:
    """The dihedral primitive equal to D . g . D^-1, or None if it is not one of ours."""
    inv = _inverse(d)
    want = _transform(d, _GEOMETRIC[name](_transform(inv, _PROBE)))
    return next((n for n, f in _GEOMETRIC.items() if f(_PROBE).shape == want.shape
                 and np.array_equal(f(_PROBE), want)), None)


def conjugate_step(step: Step, aug: Augmentation) -> Step | None:
    """The step as it should act in the augmented frame (a proposal; the caller verifies it)."""
    name, d, params = step.name, aug.dihedral, dict(step.params)
    prim = PRIMITIVES[name]
    for key in prim.color_params:
        params[key] = aug.colors[params[key]]
    if "direction" in params:
        params["direction"] = direction_under(d, params["direction"])
    if name in _GEOMETRIC:
        name = geometric_under(d, name)
        if name is None:
            return None
    elif swaps_axes(d):
        name = _TWINS.get(name, name)
        if name == "tile":
            params["rows"], params["cols"] = params["cols"], params["rows"]
    order = [k for k, _ in step.params]
    return Step(name, tuple((k, params[k]) for k in order))


def _grids(pairs: list[dict[str, Any]], key: str) -> list[np.ndarray]:
    return [np.array(p[key], dtype=np.int64) for p in pairs]


def augment_record(rec: dict[str, Any], aug: Augmentation) -> dict[str, Any] | None:
    """`rec` in frame `aug` with its verified conjugate program, or None if there is none."""
    steps = [Step(s["name"], tuple(s["params"].items())) for s in rec["steps"]]
    new_steps = [conjugate_step(s, aug) for s in steps]
    if any(s is None for s in new_steps):
        return None
    kind = _KIND_TWINS.get(rec["kind"], rec["kind"]) if swaps_axes(aug.dihedral) else rec["kind"]
    code = render_program(kind, new_steps)
    pairs = rec["train"] + rec["test"]
    inputs = [np.asarray(aug.apply_grid(g)) for g in _grids(pairs, "input")]
    outputs = [np.asarray(aug.apply_grid(g)) for g in _grids(pairs, "output")]
    for seed in (0, 1):  # as synth verifies: fresh `common`, two seeds
        try:
            got = run_program_text(code, inputs, seed=seed)
        except Exception:  # noqa: BLE001 - a conjugate that fails is no conjugate
            return None
        if not all(g.shape == o.shape and np.array_equal(g, o) for g, o in zip(got, outputs)):
            return None
    n_train = len(rec["train"])
    new_pairs = [{"input": i.tolist(), "output": o.tolist()} for i, o in zip(inputs, outputs)]
    suffix = "" if aug.is_identity else f"-aug{aug.dihedral}-" + "".join(map(str, aug.colors[1:]))
    return {**rec, "id": rec["id"] + suffix, "kind": kind, "augmentation": aug.to_json(),
            "steps": [s.to_json() for s in new_steps], "code": code,
            "train": new_pairs[:n_train], "test": new_pairs[n_train:]}


def augment_task(rec: dict[str, Any], frames: int, seed: int) -> tuple[list[dict[str, Any]], Counter]:
    """The task in `frames` frames drawn as the loop draws them (identity first, then the other
    transforms in a shuffled order, each with a random colour permutation); failures counted."""
    rng = random.Random(f"{seed}:{rec['id']}:frames")
    out, counts = [], Counter()
    for aug in augmentations_for(frames, rng):
        new = rec if aug == IDENTITY else augment_record(rec, aug)
        counts["written" if new is not None else "no_conjugate"] += 1
        if new is not None:
            out.append(new if aug != IDENTITY else {**rec, "augmentation": aug.to_json()})
    return out, counts


def _job(args: tuple[dict[str, Any], int, int]):
    return augment_task(*args)


def _results(jobs: list[tuple[dict[str, Any], int, int]], workers: int):
    """augment_task over jobs, in order, in `workers` processes."""
    if workers <= 1:
        yield from map(_job, jobs)
        return
    with get_context("spawn").Pool(workers) as pool:
        yield from pool.imap(_job, jobs, chunksize=32)


def augment_file(tasks: Path, out: Path, *, frames: int = 4, seed: int = 0, workers: int = 1,
                 log=None) -> dict[str, Any]:
    """Write every training task of `tasks` in up to `frames` frames to `out`; return counts."""
    if frames < 1:
        raise ValueError(f"frames must be >= 1, got {frames}")
    records = [r for r in load_jsonl(tasks) if r.get("split", "train") == "train"]
    if not records:
        raise ValueError(f"{tasks}: no training tasks")
    counts: Counter = Counter()
    jobs = [(r, frames, seed) for r in records]
    out.parent.mkdir(parents=True, exist_ok=True)
    with out.open("w") as f:
        for i, (recs, c) in enumerate(_results(jobs, workers)):
            counts.update(c)
            f.writelines(json.dumps(r) + "\n" for r in recs)
            if log and (i + 1) % 2000 == 0:
                log(f"augmented {i + 1}/{len(records)}")
    return {"tasks": len(records), "frames": frames, "seed": seed, "out": str(out), **dict(counts)}
