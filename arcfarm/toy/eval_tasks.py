"""Which tasks `toy eval` runs: a synth JSONL file or a named/loaded ARC dataset, with test outputs
(used only to score), filtered to what the toy model can read and picked by id."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from arcfarm.arc.tasks import Pair, Task, parse_task
from arcfarm.toy.synth import load_jsonl


def load_tasks(source: str | Path) -> list[tuple[Task, list[np.ndarray]]]:
    """Every task of a synth JSONL file or a `load_taskset` source, with its test outputs."""
    if str(source).endswith(".jsonl") and Path(source).is_file():
        out = []
        for rec in load_jsonl(source):
            task, solutions = parse_task(rec["id"], rec)
            if solutions is None:
                raise ValueError(f"{source}: task {rec['id']!r} has no test outputs to score against")
            out.append((task, solutions))
        return out
    from arcfarm.arc.datasets import load_taskset

    taskset = load_taskset(str(source))
    for task in taskset.tasks:
        if task.id not in taskset.solutions:
            raise ValueError(f"{source}: task {task.id!r} has no test outputs to score against")
    return [(t, taskset.solutions[t.id]) for t in taskset.tasks]


def max_grid_side(task: Task) -> int:
    """The longest side of any train input, train output or test input (test outputs are unseen)."""
    grids = [g for p in task.train for g in (p.input, p.output)] + list(task.test_inputs)
    return max(max(g.shape) for g in grids)


def prompt_tokens(tokenizer: Any, task: Task) -> int:
    """Tokens of the task's BARC prompt, the longer of the task and its transpose: the loop samples
    from dihedral augmentations, and a transposed grid has a different number of rows (newlines)."""
    from arcfarm.arc.prompts import render_prompt

    def count(t: Task) -> int:
        return len(tokenizer(render_prompt(tokenizer, t), add_special_tokens=False)["input_ids"])

    transposed = Task(task.id, [Pair(p.input.T, p.output.T) for p in task.train],
                      [g.T for g in task.test_inputs])
    return max(count(task), count(transposed))


def filter_tasks(tasks: list[tuple[Task, list[np.ndarray]]], model: str, max_grid: int = 0,
                 max_prompt_tokens: int = 0) -> tuple[list[tuple[Task, list[np.ndarray]]], dict[str, Any]]:
    """Keep the tasks within both limits (0 = no limit); a task is dropped for the first one it fails
    (the grid size first). Returns the kept tasks and a summary for the result JSON."""
    dropped: dict[str, list[str]] = {"max_grid": [], "max_prompt_tokens": []}
    tokenizer = None
    if max_prompt_tokens:
        from transformers import AutoTokenizer

        from arcfarm.learn.model_source import resolve_model_path

        path = resolve_model_path(model)
        tokenizer = AutoTokenizer.from_pretrained(path, local_files_only=Path(path).is_dir())
    kept = []
    for task, sols in tasks:
        if max_grid and max_grid_side(task) > max_grid:
            dropped["max_grid"].append(task.id)
        elif tokenizer is not None and prompt_tokens(tokenizer, task) > max_prompt_tokens:
            dropped["max_prompt_tokens"].append(task.id)
        else:
            kept.append((task, sols))
    summary = {"loaded": len(tasks), "kept": len(kept), "max_grid": max_grid,
               "max_prompt_tokens": max_prompt_tokens,
               "dropped": {k: len(v) for k, v in dropped.items()}, "dropped_ids": dropped}
    return kept, summary


def pick_ids(tasks: list[tuple[Task, list[np.ndarray]]], ids: tuple[str, ...],
             source: str | Path) -> list[tuple[Task, list[np.ndarray]]]:
    """The tasks named, in the order named; an id not among the (filtered) tasks is an error."""
    by_id = {t.id: (t, s) for t, s in tasks}
    missing = [i for i in ids if i not in by_id]
    if missing:
        raise ValueError(f"{source}: no task {', '.join(map(repr, missing))} (after the filters)")
    return [by_id[i] for i in ids]
