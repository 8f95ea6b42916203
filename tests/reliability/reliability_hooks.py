"""Faults injected into real worker processes (ARCFARM_FAULT_HOOK=reliability_hooks:install).

`install(solver, claim)` runs before every job; the task id picks the fault:
  poison*            the model raises on every sampling call (every delivery crashes)
  oom-sample*        sampling raises torch.OutOfMemoryError for any batch larger than one
  oom-always*        sampling raises torch.OutOfMemoryError at every batch size
  oom-train*         the model writes a correct program (so there is something to train on)
                     and every training step raises torch.OutOfMemoryError
anything else        no fault
"""
from __future__ import annotations

import torch

from arcfarm.arc.prompts import response_text
from arcfarm.learn.engines.base import Completion

FLIP = "from common import *\nimport numpy as np\n\ndef transform(input_grid):\n    return np.fliplr(input_grid)\n"


def _scripted(prompts, n, params, adapter=None, *, batch_size=None):
    """An engine that always answers with the flip program."""
    text = response_text(FLIP)
    return [[Completion(text=text, prompt_tokens=10, completion_tokens=20, finish_reason="stop")
             for _ in range(n)] for _ in prompts]


def _raise(exc: BaseException):
    def hook(*_args) -> None:
        raise exc
    return hook


def _oom_above_one(batch: int) -> None:
    if batch > 1:
        raise torch.OutOfMemoryError(f"CUDA out of memory (injected at batch {batch})")


def install(solver, claim) -> None:
    task_id = claim.task_id
    solver.engine.fault_hook = None
    solver.trainer.fault_hook = None
    solver.engine.__dict__.pop("generate", None)  # the class's own generate again
    if task_id.startswith("poison"):
        solver.engine.fault_hook = _raise(RuntimeError("injected model failure (poison task)"))
    elif task_id.startswith("oom-sample"):
        solver.engine.fault_hook = _oom_above_one
    elif task_id.startswith("oom-always"):
        solver.engine.fault_hook = _raise(torch.OutOfMemoryError("CUDA out of memory (injected)"))
    elif task_id.startswith("oom-train"):
        solver.engine.generate = _scripted
        solver.trainer.fault_hook = _raise(torch.OutOfMemoryError("CUDA out of memory (injected)"))
