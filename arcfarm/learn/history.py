"""Learning from the farm's history: recorded programs of many tasks, relabeled as training examples.

    programs = db.reads.history_programs(session=..., run_ids=[3, 4], policy="top8")
    examples = history_examples(programs, tokenizer)      # -> [TrainExample]
    report = history_train.train_on_history(config, examples, out_dir)

Each chosen program becomes a correct solution of the task its own train outputs define (the
relabeling the loop does per task, `relabel.relabel_outputs`), rendered in the augmented space
its prompt was sampled in: the augmentations are the ones the loop drew. The selection hands us
train pairs, test *inputs* and each program's own outputs, never test outputs, so nothing here
can see a solution. Importing this module imports no torch (the database layer builds these).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Sequence

from arcfarm.arc.prompts import render_prompt
from arcfarm.arc.tasks import parse_task
from arcfarm.learn.relabel import relabel_outputs

if TYPE_CHECKING:
    from arcfarm.learn.trainer import TrainExample


@dataclass(frozen=True)
class HistoryProgram:
    """A recorded program chosen for training: enough to relabel it as its own task's solution."""

    task_id: str
    task_json: dict[str, Any]  # train pairs and test inputs; never test outputs
    prediction_id: int
    augmentation: dict[str, Any]
    response: str
    train_outputs: list[Any]  # the program's own (un-augmented) train outputs
    train_correct: int
    fingerprint: str
    rank: int  # 1 = the best of its task


def history_examples(programs: Sequence[HistoryProgram], tokenizer) -> list[TrainExample]:
    """One training example per program: the relabeled task's prompt and the program's response."""
    from arcfarm.learn.trainer import TrainExample

    examples = []
    for p in programs:
        task, _ = parse_task(p.task_id, p.task_json)  # test inputs only: there are no outputs
        relabeled = relabel_outputs(task, p.augmentation, p.train_outputs, p.response,
                                    p.fingerprint)
        examples.append(TrainExample(prompt=render_prompt(tokenizer, relabeled.task),
                                     response=relabeled.response))
    return examples
