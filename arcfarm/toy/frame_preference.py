"""Does a model write better programs for a task's own frame than for augmented ones?

    arcfarm toy frames --model models/toy --tasks data/toy/heldout.jsonl --limit 4 --samples 4 \
        --likelihood-limit 40 --out bench/results/toy-frame-preference-<date>.json

Every task is shown in nine frames: the identity, a colour permutation alone, and each of the
seven other dihedral transforms with a random colour permutation (the loop's frames:
arc/augment.py, background kept). Each frame's prompt gets the same number of samples; each
program runs in the sandbox on that frame's inputs and its outputs are mapped back, as the loop
does. Per frame: how many programs are valid (every grid produced, no error), pass every train
pair, and give the right test output (solutions are used for this score only, after execution).
The summary compares the identity frame with the augmented ones, task by task.

Sampling is slow on a CPU, so `measure_likelihoods` asks the same question without sampling, on
synthetic tasks whose program is known: per frame, the log-probability the model gives the
program that solves the task in that frame (the task's own program for the identity, its
verified conjugate otherwise, conjugate.py), and whether such a program exists in the toy's
primitives at all.
"""
from __future__ import annotations

import hashlib
import random
import time
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np

from arcfarm.arc.augment import DIHEDRAL_NAMES, IDENTITY, Augmentation, random_augmentation
from arcfarm.arc.prompts import extract_code, render_prompt
from arcfarm.arc.scoring import score_train
from arcfarm.arc.tasks import Task
from arcfarm.sandbox import ProgramRun


@dataclass(frozen=True)
class Frame:
    group: str  # "identity", "colours" (colour permutation only) or "dihedral" (transform + colours)
    aug: Augmentation


def frames_for(task_id: str, seed: int) -> list[Frame]:
    rng = random.Random(f"{seed}:{task_id}:frames")
    frames = [Frame("identity", IDENTITY), Frame("colours", random_augmentation(rng, dihedral=0))]
    return frames + [Frame("dihedral", random_augmentation(rng, dihedral=d)) for d in range(1, 8)]


def _limit_threads() -> None:
    """One torch thread on a shared CPU: on the 2-core dev machine under load a 1,000-token
    forward pass of the toy model took 0.7 s with one thread and 4.2 s with two."""
    import torch

    if not torch.cuda.is_available():
        torch.set_num_threads(1)


def _seed(*parts: object) -> int:
    return int.from_bytes(hashlib.sha256(":".join(map(str, parts)).encode()).digest()[:4], "little")


def measure_task(engine, executor, task: Task, solutions: list[np.ndarray], *, samples: int, seed: int,
                 temperature: float, max_new_tokens: int) -> list[dict[str, Any]]:
    """One row per frame: counts of valid, train-passing and test-solving programs."""
    from arcfarm.learn.engines.base import SamplingParams

    frames = frames_for(task.id, seed)
    views = [f.aug.apply_task(task) for f in frames]
    prompts = [render_prompt(engine.tokenizer, v) for v in views]
    params = SamplingParams(temperature=temperature, top_p=0.95, max_new_tokens=max_new_tokens,
                            seed=_seed(seed, task.id, "sample"))
    completions = engine.generate(prompts, samples, params)
    runs = [ProgramRun(extract_code(c.text), v.all_inputs()) for v, comps in zip(views, completions)
            for c in comps]
    results = iter(executor.run(runs))
    rows = []
    for frame, comps in zip(frames, completions):
        valid = passes = solved = 0
        for _ in comps:
            res = next(results)
            outs = [None if g is None else frame.aug.invert_grid(g) for g in res.outputs]
            train_out, test_out = outs[:len(task.train)], outs[len(task.train):]
            ok = res.ok and all(g is not None for g in outs)
            valid += ok
            passes += ok and score_train([p.output for p in task.train], train_out).passes_train
            solved += ok and all(np.array_equal(g, s) for g, s in zip(test_out, solutions))
        rows.append({"task": task.id, "group": frame.group, "dihedral": DIHEDRAL_NAMES[frame.aug.dihedral],
                     "augmentation": frame.aug.to_json(), "samples": len(comps), "valid": valid,
                     "passes_train": passes, "solved": solved,
                     "completion_tokens": sum(c.completion_tokens for c in comps)})
    return rows


def response_logprob(model, tokenizer, prompt: str, response: str) -> tuple[float, int]:
    """Sum of log-probabilities of the response's tokens (the end-of-turn token included) after
    the prompt, and the number of those tokens: one teacher-forced forward pass."""
    import torch

    from arcfarm.toy.tokenizer import EOT

    p_ids = tokenizer(prompt, add_special_tokens=False)["input_ids"]
    r_ids = tokenizer(response + EOT, add_special_tokens=False)["input_ids"]
    ids = torch.tensor([p_ids + r_ids], device=next(model.parameters()).device)
    with torch.inference_mode():
        logits = model(input_ids=ids).logits[0, len(p_ids) - 1:-1].float()
    picked = torch.log_softmax(logits, dim=-1).gather(1, ids[0, len(p_ids):, None])
    return float(picked.sum()), len(r_ids)


def likelihood_rows(model, tokenizer, rec: dict[str, Any], seed: int) -> list[dict[str, Any]]:
    """One row per frame of a synthetic task record: whether its conjugate program exists and
    the model's log-probability of it (per token and in total)."""
    from arcfarm.arc.prompts import response_text
    from arcfarm.arc.tasks import parse_task
    from arcfarm.toy.conjugate import augment_record

    rows = []
    for frame in frames_for(rec["id"], seed):
        view = rec if frame.aug.is_identity else augment_record(rec, frame.aug)
        row: dict[str, Any] = {"task": rec["id"], "group": frame.group,
                               "dihedral": DIHEDRAL_NAMES[frame.aug.dihedral], "expressible": view is not None}
        if view is not None:
            task, _ = parse_task(view["id"], view)
            total, n = response_logprob(model, tokenizer, render_prompt(tokenizer, task),
                                        response_text(view["code"]))
            row.update(logprob=round(total, 3), tokens=n, logprob_per_token=round(total / n, 5))
        rows.append(row)
    return rows


def summarize_likelihoods(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Per frame group: share of frames with a program in the primitives, mean log-probability
    of that program; and identity minus augmented per task (frames with a program only)."""
    groups = {}
    for g in ("identity", "colours", "dihedral"):
        mine = [r for r in rows if r["group"] == g]
        have = [r for r in mine if r["expressible"]]
        groups[g] = {"frames": len(mine), "expressible": round(len(have) / max(len(mine), 1), 4),
                     "mean_logprob": round(float(np.mean([r["logprob"] for r in have])), 3) if have else None,
                     "mean_logprob_per_token": round(float(np.mean([r["logprob_per_token"] for r in have])), 5)
                     if have else None}
    by_dihedral = {}
    for name in DIHEDRAL_NAMES[1:]:
        mine = [r for r in rows if r["dihedral"] == name]
        by_dihedral[name] = {"frames": len(mine),
                             "expressible": round(sum(r["expressible"] for r in mine) / max(len(mine), 1), 4)}
    diffs = []
    for task in dict.fromkeys(r["task"] for r in rows):
        mine = [r for r in rows if r["task"] == task and r["expressible"]]
        ident = [r["logprob"] for r in mine if r["group"] == "identity"]
        aug = [r["logprob"] for r in mine if r["group"] != "identity"]
        if ident and aug:
            diffs.append(ident[0] - float(np.mean(aug)))
    paired = {"tasks": len(diffs), "mean_logprob_identity_minus_augmented":
              round(float(np.mean(diffs)), 3) if diffs else None,
              "tasks_identity_higher": sum(d > 0 for d in diffs), "tasks_augmented_higher": sum(d < 0 for d in diffs)}
    return {"groups": groups, "expressible_by_dihedral": by_dihedral, "identity_minus_augmented": paired}


def measure_likelihoods(model: str, records: list[dict[str, Any]], *, seed: int = 0,
                        log: Callable[[str], None] = lambda m: None) -> dict[str, Any]:
    from arcfarm.learn.model import load_model
    from arcfarm.learn.model_source import resolve_model_path

    _limit_threads()
    t0 = time.perf_counter()
    net, tokenizer = load_model(resolve_model_path(model), dtype="float32")
    net.eval()
    rows = []
    for i, rec in enumerate(records):
        rows += likelihood_rows(net, tokenizer, rec, seed)
        if (i + 1) % 10 == 0:
            log(f"likelihoods: {i + 1}/{len(records)} tasks")
    return {"model": model, "device": str(next(net.parameters()).device), "tasks": len(records),
            "seed": seed, "seconds": round(time.perf_counter() - t0, 1), **summarize_likelihoods(rows),
            "rows": rows}


def summarize(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Rates per frame group, and the identity frame against the augmented ones task by task."""
    def rates(selected: list[dict[str, Any]]) -> dict[str, float | int]:
        n = sum(r["samples"] for r in selected)
        return {"samples": n, **{k: round(sum(r[k] for r in selected) / max(n, 1), 4)
                                 for k in ("valid", "passes_train", "solved")}}

    groups = {g: rates([r for r in rows if r["group"] == g]) for g in ("identity", "colours", "dihedral")}
    groups["augmented"] = rates([r for r in rows if r["group"] != "identity"])
    per_task = []
    for task in dict.fromkeys(r["task"] for r in rows):
        mine = [r for r in rows if r["task"] == task]
        ident, aug = rates([r for r in mine if r["group"] == "identity"]), rates(
            [r for r in mine if r["group"] != "identity"])
        per_task.append({"task": task, **{f"{k}_identity_minus_augmented": round(ident[k] - aug[k], 4)
                                          for k in ("valid", "passes_train", "solved")}})
    paired = {}
    for k in ("valid", "passes_train", "solved"):
        diffs = [t[f"{k}_identity_minus_augmented"] for t in per_task]
        paired[k] = {"mean_difference": round(float(np.mean(diffs)), 4) if diffs else None,
                     "tasks_identity_higher": sum(d > 0 for d in diffs),
                     "tasks_augmented_higher": sum(d < 0 for d in diffs), "tasks_equal": sum(d == 0 for d in diffs)}
    return {"groups": groups, "identity_minus_augmented": paired, "per_task": per_task}


def measure(model: str, tasks: list[tuple[Task, list[np.ndarray]]], *, samples: int = 4, seed: int = 0,
            temperature: float = 1.0, max_new_tokens: int = 640, exec_workers: int = 2,
            log: Callable[[str], None] = lambda m: None) -> dict[str, Any]:
    """Load the model on the CPU (or the GPU when there is one) and measure every task."""
    from arcfarm.learn.engines import make_engine
    from arcfarm.learn.model import load_model
    from arcfarm.learn.model_source import resolve_model_path
    from arcfarm.sandbox import Executor

    _limit_threads()
    t0 = time.perf_counter()
    net, tokenizer = load_model(resolve_model_path(model), dtype="float32")
    engine = make_engine("hf", net, tokenizer, batch_size=16)
    rows: list[dict[str, Any]] = []
    with Executor(workers=exec_workers, timeout_s=2.0) as executor:
        for i, (task, solutions) in enumerate(tasks):
            rows += measure_task(engine, executor, task, solutions, samples=samples, seed=seed,
                                 temperature=temperature, max_new_tokens=max_new_tokens)
            log(f"{i + 1}/{len(tasks)} {task.id}: solved per frame "
                f"{[r['solved'] for r in rows[-9:]]} of {samples}")
    return {"model": model, "device": str(next(net.parameters()).device), "tasks": len(tasks),
            "frames_per_task": 9, "samples_per_frame": samples, "seed": seed, "temperature": temperature,
            "max_new_tokens": max_new_tokens, "seconds": round(time.perf_counter() - t0, 1),
            **summarize(rows), "rows": rows}
