"""Synthetic BARC-style tasks: random compositions of primitives, executed, checked and rendered.

    python3 -m arcfarm.toy.synth --n 40000 --heldout 200 --seed 0 --out data/toy/train.jsonl --workers 16

writes the training tasks to `train.jsonl` and the held-out tasks to `train.heldout.jsonl` (the
`--out` stem plus `.heldout.jsonl`). Held-out tasks are compositions never seen in training: every
depth-3 composition, and depth-2 compositions of the pairs in WITHHELD_PAIRS (which training
tasks never contain as consecutive steps).

A task is kept only if every step changes at least one grid (no identity steps), the outputs are
not all the same grid (no constant output), every grid is valid (1..30 a side, colours 0..9) and
the prompt fits the size budget. Then the RENDERED program text is executed twice, under
different random seeds, with a freshly loaded `common` module, and must reproduce the generator's
outputs exactly (no error, no non-determinism, no rendering bug). One JSON object per line:
{"id", "split", "kind", "depth", "steps", "code", "train": [{"input","output"}], "test": [{"input","output"}]}.
"""
from __future__ import annotations

import argparse
import inspect
import json
import random
import sys
from collections import Counter
from dataclasses import dataclass
from multiprocessing import get_context
from pathlib import Path
from typing import Any, Callable

import numpy as np

from arcfarm.toy.inputs import random_input, random_style
from arcfarm.toy.primitives import PRIMITIVES, Context, compile_helpers
from arcfarm.toy.render import Step, render_program

# Consecutive steps never seen in training (first, second); held-out tasks use them.
WITHHELD_PAIRS = frozenset({
    ("rotate_clockwise", "swap_colors"), ("gravity", "draw_border"), ("remove_noise", "flip_vertical"),
    ("extend_vertical", "recolor"), ("crop_largest", "mirror_right"), ("fill_enclosed", "transpose"),
})
MAX_PROMPT_CELLS = 1400  # sum of rows * (cols + 1) over the prompt's grids: ~ tokens of grid text
MAX_ATTEMPTS = 500


class Rejected(Exception):
    """A candidate task that must be discarded; the message is the reason (counted in stats)."""


@dataclass
class SynthConfig:
    seed: int = 0
    train_depths: tuple[int, ...] = (1, 2)
    train_depth_weights: tuple[float, ...] = (0.35, 0.65)
    max_prompt_cells: int = MAX_PROMPT_CELLS


# -- executing the rendered text ----------------------------------------------------------------

_COMMON_CODE = None


def fresh_common():
    """A new module object `common`, executed from arcfarm/arc/common.py (as the sandbox does)."""
    global _COMMON_CODE
    import types

    import arcfarm.arc.common as template

    if _COMMON_CODE is None:
        path = Path(template.__file__)
        _COMMON_CODE = compile(path.read_text(), str(path), "exec")
    module = types.ModuleType("common")
    module.__file__ = template.__file__
    exec(_COMMON_CODE, module.__dict__)
    return module


def run_program_text(code: str, inputs: list[np.ndarray], seed: int = 0) -> list[np.ndarray]:
    """Execute a program's text and call its transform on copies of each input."""
    saved = sys.modules.get("common")
    sys.modules["common"] = fresh_common()
    random.seed(seed)
    np.random.seed(seed)
    try:
        namespace: dict[str, Any] = {"__name__": "program"}
        exec(compile(code, "<program>", "exec"), namespace)
        return [np.asarray(namespace["transform"](g.copy())) for g in inputs]
    finally:
        if saved is None:
            sys.modules.pop("common", None)
        else:
            sys.modules["common"] = saved


# -- one task -------------------------------------------------------------------------------------

def _context(grids: list[np.ndarray]) -> Context:
    present = sorted(set(np.concatenate([g.ravel() for g in grids]).tolist()) - {0})
    return Context(tuple(present), tuple(c for c in range(1, 10) if c not in present))


def _check_grid(grid: Any) -> np.ndarray:
    grid = np.asarray(grid)
    if grid.ndim != 2 or not (1 <= grid.shape[0] <= 30 and 1 <= grid.shape[1] <= 30):
        raise Rejected("bad_shape")
    if grid.dtype.kind not in "iu" or grid.min() < 0 or grid.max() > 9:
        raise Rejected("bad_values")
    return grid.astype(np.int64)


def _apply(helpers, name: str, params: dict[str, Any], grids: list[np.ndarray]) -> list[np.ndarray]:
    try:
        outs = [helpers[name](g.copy(), **params) for g in grids]
    except Exception:  # noqa: BLE001 - any error discards the candidate
        raise Rejected("error") from None
    return [_check_grid(o) for o in outs]


def _ordered(helpers, name: str, params: dict[str, Any]) -> Step:
    order = list(inspect.signature(helpers[name]).parameters)[1:]
    return Step(name, tuple((k, params[k]) for k in order))


Sampler = Callable[[random.Random, Context], "dict[str, Any] | None"]
InputMaker = Callable[[random.Random], "tuple[str, list[np.ndarray]]"]


def build_task(rng: random.Random, names: list[str], helpers, cfg: SynthConfig, *,
               samplers: dict[int, Sampler] | None = None,
               inputs: InputMaker | None = None) -> dict[str, Any]:
    """Run the composition `names` on fresh inputs; raise Rejected if the task is degenerate.

    Task families (families.py) pass `samplers` (step index -> parameter sampler used instead of
    the primitive's own) and `inputs` (draws the input kind and grids instead of random_input)."""
    samplers = samplers or {}
    if inputs is None:
        kind = rng.choice(PRIMITIVES[names[0]].first_inputs)
        style = random_style(kind, rng)
        inputs_ = [random_input(style, rng) for _ in range(rng.choice((4, 5)))]
    else:
        kind, inputs_ = inputs(rng)
    grids, steps = inputs_, []
    for i, name in enumerate(names):
        params = samplers.get(i, PRIMITIVES[name].sample)(rng, _context(grids))
        if params is None:
            raise Rejected("no_params")
        outs = _apply(helpers, name, params, grids)
        if all(a.shape == b.shape and np.array_equal(a, b) for a, b in zip(grids, outs)):
            raise Rejected("identity_step")
        grids = outs
        steps.append(_ordered(helpers, name, params))
    inputs, outputs = inputs_, grids
    if all(i.shape == o.shape and np.array_equal(i, o) for i, o in zip(inputs, outputs)):
        raise Rejected("identity_output")
    if all(o.shape == outputs[0].shape and np.array_equal(o, outputs[0]) for o in outputs):
        raise Rejected("constant_output")
    cells = sum(g.shape[0] * (g.shape[1] + 1) for g in inputs + outputs[:-1])
    if cells > cfg.max_prompt_cells:
        raise Rejected("too_long")
    code = render_program(kind, steps)
    _verify(code, inputs, outputs)
    pairs = [{"input": i.tolist(), "output": o.tolist()} for i, o in zip(inputs, outputs)]
    return {"kind": kind, "depth": len(steps), "steps": [s.to_json() for s in steps], "code": code,
            "train": pairs[:-1], "test": pairs[-1:]}


def _verify(code: str, inputs: list[np.ndarray], outputs: list[np.ndarray]) -> None:
    for seed in (0, 1):
        try:
            got = run_program_text(code, inputs, seed=seed)
        except Exception:  # noqa: BLE001
            raise Rejected("rendered_error") from None
        if not all(g.shape == o.shape and np.array_equal(g, o) for g, o in zip(got, outputs)):
            raise Rejected("rendered_mismatch" if seed == 0 else "nondeterministic")


# -- choosing compositions ------------------------------------------------------------------------

_FIRSTS = [p.name for p in PRIMITIVES.values() if p.first_inputs]
_NAMES = list(PRIMITIVES)


def _chain(rng: random.Random, depth: int) -> list[str]:
    names = [rng.choice(_FIRSTS)]
    while len(names) < depth:
        names.append(rng.choice([n for n in _NAMES if n != names[-1]]))
    return names


def has_withheld_pair(names: list[str]) -> bool:
    return any(pair in WITHHELD_PAIRS for pair in zip(names, names[1:]))


def choose_composition(rng: random.Random, split: str, cfg: SynthConfig) -> list[str]:
    if split == "train":
        while True:
            names = _chain(rng, rng.choices(cfg.train_depths, cfg.train_depth_weights)[0])
            if not has_withheld_pair(names):
                return names
    if rng.random() < 0.5:
        return list(rng.choice(sorted(WITHHELD_PAIRS)))
    return _chain(rng, 3)


_HELPERS = None


def make_task(index: int, split: str, cfg: SynthConfig) -> tuple[dict[str, Any] | None, Counter]:
    """Task number `index` of a split: deterministic in (seed, split, index)."""
    global _HELPERS
    if _HELPERS is None:
        _HELPERS = compile_helpers()
    rng = random.Random(f"{cfg.seed}:{split}:{index}")
    rejected: Counter = Counter()
    for _ in range(MAX_ATTEMPTS):
        try:
            task = build_task(rng, choose_composition(rng, split, cfg), _HELPERS, cfg)
        except Rejected as exc:
            rejected[str(exc)] += 1
            continue
        return {"id": f"toy-{split}-{cfg.seed}-{index:06d}", "split": split, **task}, rejected
    return None, rejected


def _job(args: tuple[int, str, SynthConfig]):
    return make_task(*args)


def generate(n: int, split: str, cfg: SynthConfig, workers: int = 1):
    """Yield (task or None, rejection counts) for indices 0..n-1, in order."""
    jobs = [(i, split, cfg) for i in range(n)]
    if workers <= 1:
        yield from map(_job, jobs)
        return
    with get_context("spawn").Pool(workers) as pool:
        yield from pool.imap(_job, jobs, chunksize=16)


def heldout_path(out: Path) -> Path:
    return out.with_name(out.name.removesuffix(".jsonl") + ".heldout.jsonl")


def synthesize(n: int, out: Path, *, heldout: int = 0, seed: int = 0, workers: int = 1,
               log=None) -> dict[str, Any]:
    """Write n training tasks to `out` and `heldout` held-out tasks next to it; return stats."""
    cfg = SynthConfig(seed=seed)
    out.parent.mkdir(parents=True, exist_ok=True)
    stats: dict[str, Any] = {"seed": seed, "files": {}}
    for split, count, path in (("train", n, out), ("heldout", heldout, heldout_path(out))):
        if count == 0 and split == "heldout":
            continue
        written, rejected, depths = 0, Counter(), Counter()
        with path.open("w") as f:
            for task, rej in generate(count, split, cfg, workers):
                rejected.update(rej)
                if task is not None:
                    f.write(json.dumps(task) + "\n")
                    written += 1
                    depths[task["depth"]] += 1
                    if log and written % 1000 == 0:
                        log(f"{split}: {written}/{count}")
        stats["files"][split] = {"path": str(path), "tasks": written, "depths": dict(depths),
                                 "rejected": dict(rejected)}
    return stats


def load_jsonl(path: str | Path) -> list[dict[str, Any]]:
    with open(path) as f:
        return [json.loads(line) for line in f if line.strip()]


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description="Write synthetic BARC-style tasks as JSONL.")
    ap.add_argument("--n", type=int, required=True)
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--heldout", type=int, default=200)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--workers", type=int, default=1)
    a = ap.parse_args(argv)
    stats = synthesize(a.n, a.out, heldout=a.heldout, seed=a.seed, workers=a.workers,
                       log=lambda m: print(m, file=sys.stderr, flush=True))
    print(json.dumps(stats, indent=2))


if __name__ == "__main__":
    main()
