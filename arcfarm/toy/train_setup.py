"""The toy trainer's setup (read, order, tokenizer, encode) spread over worker processes.

Why: on the lent H200 (16 cores) the serial setup of 142,558 augmented tasks took 192.5 s of a
10-minute call, and the call ended before the 7 minutes of training did
(bench/checks/toy_augmented.sh, 2026-12-03). Parsing, rendering and tokenizing are per task and
independent, so they split over processes; the result is the serial setup's, example for example
(tests/toy/test_train_setup.py).

Workers fork from one forkserver process (the trainer's modules, torch among them, are imported
once there, not once per worker) and hand back token ids as int32 arrays (pickled as bytes; Python
int lists of ~10^8 tokens would cost seconds and gigabytes).
"""
from __future__ import annotations

import json
import os
import random
from multiprocessing import get_context
from pathlib import Path
from typing import Any

import numpy as np

from arcfarm.arc.prompts import render_prompt, response_text
from arcfarm.arc.tasks import Task, parse_task
from arcfarm.toy.tokenizer import EOT

CHUNK = 1000  # tasks per worker call: large enough that pickling, not IPC round trips, dominates


def base_id(task_id: str) -> str:
    """The task an augmented frame came from (conjugate.augment_record appends `-aug...`)."""
    return task_id.split("-aug")[0]


def shuffled_groups(ids: list[str], seed: int) -> list[int]:
    """Positions of `ids` in a seeded random order of their tasks, the frames of one task together
    and in file order (the order train.shuffled_by_task gives the same tasks)."""
    groups: dict[str, list[int]] = {}
    for i, task_id in enumerate(ids):
        groups.setdefault(base_id(task_id), []).append(i)
    order = list(groups.values())
    random.Random(seed).shuffle(order)
    return [i for group in order for i in group]


def whole_task_cut(ids: list[str], n: int) -> int:
    """The smallest index >= n at which a new task (not another frame of the last) begins."""
    while 0 < n < len(ids) and base_id(ids[n]) == base_id(ids[n - 1]):
        n += 1
    return n


def encode_pairs(tokenizer, tasks: list[tuple[Task, str]], max_len: int) -> tuple[list[tuple[np.ndarray, int]], int]:
    """(prompt + response + <|eot_id|> ids, prompt length) per task, in order; sequences over
    max_len are dropped and counted."""
    if not tasks:
        return [], 0
    prompts = [render_prompt(tokenizer, t) for t, _ in tasks]
    responses = [response_text(code) + EOT for _, code in tasks]
    p_ids = tokenizer(prompts, add_special_tokens=False)["input_ids"]
    r_ids = tokenizer(responses, add_special_tokens=False)["input_ids"]
    kept = [(np.asarray(p + r, dtype=np.int32), len(p)) for p, r in zip(p_ids, r_ids)
            if len(p) + len(r) <= max_len]
    return kept, len(tasks) - len(kept)


def train_records(lines: list[str]) -> list[tuple[Task, str]]:
    """(task, program) of every line that is a training task."""
    out = []
    for line in lines:
        rec = json.loads(line)
        if rec.get("split", "train") == "train":
            out.append((parse_task(rec["id"], rec)[0], rec["code"]))
    return out


# -- in the workers ---------------------------------------------------------------------------------

_tokenizer: Any = None


def _quiet_threads() -> None:
    # One tokenizer thread per worker: the workers are the parallelism (16 workers each starting a
    # thread per core would oversubscribe the machine).
    os.environ["TOKENIZERS_PARALLELISM"] = "false"


def _set_tokenizer(tokenizer) -> None:
    global _tokenizer
    _quiet_threads()
    _tokenizer = tokenizer


def _ids(lines: list[str]) -> list[str | None]:
    """The id of each line's task, None for a line that is not a training task."""
    out: list[str | None] = []
    for line in lines:
        rec = json.loads(line)
        out.append(rec["id"] if rec.get("split", "train") == "train" else None)
    return out


def _encode(job: tuple[list[str], int]) -> tuple[list[tuple[np.ndarray, int]], int]:
    lines, max_len = job
    return encode_pairs(_tokenizer, train_records(lines), max_len)


# -- in the trainer ---------------------------------------------------------------------------------

def prepare(path: Path, *, seed: int, vocab: int, tokenizer_tasks: int, val_fraction: float,
            max_len: int, workers: int) -> dict[str, Any]:
    """Tokenizer, validation and training examples of a task file, as train.train's serial setup
    makes them: tasks shuffled by task, the tokenizer trained on the first `tokenizer_tasks`,
    validation = the first whole tasks."""
    from arcfarm.toy.train import build_tokenizer  # not at the top: train imports this module

    lines = [line for line in path.read_text().splitlines() if line.strip()]
    context = get_context("forkserver")  # the main module imported once, not once per worker
    with context.Pool(workers, initializer=_quiet_threads) as pool:
        ids_all = [x for part in pool.map(_ids, _chunks(lines)) for x in part]
    keep = [i for i, x in enumerate(ids_all) if x is not None]
    if not keep:
        raise ValueError(f"{path}: no training tasks")
    order = [keep[i] for i in shuffled_groups([ids_all[i] for i in keep], seed)]  # line numbers
    tokenizer = build_tokenizer(train_records([lines[i] for i in order[:tokenizer_tasks]]),
                                vocab, tokenizer_tasks)
    n_val = whole_task_cut([ids_all[i] for i in order],
                           int(len(order) * val_fraction) if len(order) >= 100 else 0)
    ordered = [lines[i] for i in order]
    del lines
    out: dict[str, Any] = {"tokenizer": tokenizer, "tasks": len(order), "too_long": 0}
    with context.Pool(workers, initializer=_set_tokenizer, initargs=(tokenizer,)) as pool:
        for name, part in (("val", ordered[:n_val]), ("train", ordered[n_val:])):
            out[name] = []
            for kept, dropped in pool.imap(_encode, [(c, max_len) for c in _chunks(part)]):
                out[name].extend(kept)
                out["too_long"] += dropped
    return out


def _chunks(lines: list[str]) -> list[list[str]]:
    return [lines[i:i + CHUNK] for i in range(0, len(lines), CHUNK)]
