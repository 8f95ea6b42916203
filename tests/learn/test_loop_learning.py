"""The loop's learning half on the tiny model: valid programs are relabeled and trained on.

A random-init model never writes a program that runs, so here the sampler is a scripted engine
that answers with BARC-format responses of a few real programs (a stand-in for the model's
search, not for the loop under test). Execution, scoring, relabeling and LoRA training are real.
The last test samples with the tiny model itself: it checks which temperature each epoch uses.
"""
from __future__ import annotations

import dataclasses
import logging

import numpy as np
import pytest
import torch

from arcfarm.arc.prompts import response_text
from arcfarm.arc.tasks import parse_task
from arcfarm.learn.config import load_config
from arcfarm.learn.engines.base import Completion, Engine
from arcfarm.learn.loop import LoopHooks, SamplingOutOfMemory
from arcfarm.learn.solver import Solver

BODIES = ("output_grid = np.flipud(input_grid)", "output_grid = np.rot90(input_grid, k=2)",
          "output_grid = np.fliplr(input_grid)", "output_grid = input_grid.T",
          "raise ValueError('no idea')")


def _code(body: str) -> str:
    return ("from common import *\n\nimport numpy as np\n\ndef transform(input_grid):\n"
            f"    {body}\n    return output_grid")


class ScriptedEngine(Engine):
    """Cycles through fixed responses; records whether an adapter was requested and the batch
    sizes asked for. With `fits` set, a batch larger than that runs out of memory."""

    def __init__(self, tokenizer):
        self.tokenizer = tokenizer
        self.batch_size = 64
        self.adapters = []
        self.batch_sizes = []
        self.fits: int | None = None
        self.calls = 0

    def generate(self, prompts, n, params, adapter=None, *, batch_size=None):
        self.batch_sizes.append(batch_size)
        if self.fits is not None and batch_size > self.fits:
            raise torch.OutOfMemoryError(f"CUDA out of memory (injected at batch {batch_size})")
        self.adapters.append(adapter)
        out = []
        for _ in prompts:
            comps = []
            for _ in range(n):
                text = response_text(_code(BODIES[self.calls % len(BODIES)]))
                self.calls += 1
                comps.append(Completion(text, 10, 20, "stop"))
            out.append(comps)
        return out


TASK = {"train": [{"input": [[1, 2], [3, 4]], "output": [[3, 4], [1, 2]]},
                  {"input": [[5, 0, 0], [0, 6, 0]], "output": [[0, 6, 0], [5, 0, 0]]}],
        "test": [{"input": [[7, 8], [0, 9]]}]}


@pytest.fixture(scope="module")
def solver(tiny_model_dir):
    cfg = load_config("tiny-cpu", [f"model={tiny_model_dir}", "initial_predictions=10",
                                   "predictions_per_epoch=5", "max_epochs=2",
                                   "samples_per_prompt=5", "learning_rate=0.003"])
    with Solver(cfg) as s:
        s.engine = ScriptedEngine(s.tokenizer)
        yield s


def test_relabeled_programs_are_trained_on(solver):
    task, _ = parse_task("flip", TASK)
    before = solver.trainer.lora_state()
    seen = []
    result = solver.solve(task, hooks=LoopHooks(on_predictions=seen.extend))
    e0, e1, e2 = result.epochs
    assert [e.predictions for e in result.epochs] == [10, 5, 5]
    assert e0.valid == 8 and e0.passes_train >= 1 and e0.relabeled == 0
    # one training example per distinct behaviour (output fingerprint) of the epoch before,
    # never one already trained on
    prints = [{r.fingerprint for r in seen if r.epoch == k and r.valid} for k in (0, 1)]
    assert e1.relabeled == len(prints[0]) > 1
    assert e2.relabeled == len(prints[1] - prints[0])
    assert e1.train_loss is not None and e1.train_error is None
    assert solver.engine.adapters[0] is None and solver.engine.adapters[-1] is not None
    after = solver.trainer.lora_state()
    assert any(not np.array_equal(before[k].numpy(), after[k].numpy())
               for k in before if "lora_B" in k)
    # flipud is the right program: attempt 1 is its output
    assert result.attempts[0][0].tolist() == [[0, 9], [7, 8]]
    assert [r.sample_index for r in seen] == list(range(20))
    errors = {r.error for r in seen}
    assert "ValueError" in errors and None in errors


def test_stop_rule_ends_the_task_early(solver):
    task, _ = parse_task("flip", TASK)
    cfg = solver.config.model_copy(update={"stop_after_agreeing": 1})
    result = solver.solve(task, cfg)
    assert result.stop_reason == "agreement" and len(result.epochs) == 1


def test_cancellation_is_seen_at_the_epoch_boundary(solver):
    task, _ = parse_task("flip", TASK)
    calls = []

    def should_stop():
        calls.append(1)
        return len(calls) > 1

    result = solver.solve(task, hooks=LoopHooks(should_stop=should_stop))
    assert result.stop_reason == "cancelled" and len(result.epochs) == 1


@pytest.fixture
def out_of_memory_above(solver):
    """Sets the largest batch the scripted engine fits; puts everything back afterwards."""
    def limit(fits: int | None):
        solver.engine.fits = fits
        solver.engine.batch_sizes.clear()
        return solver.engine.batch_sizes
    yield limit
    limit(None)


def test_sampling_out_of_memory_halves_the_tasks_batch(solver, out_of_memory_above):
    """tiny-cpu samples 16 at a time: 16 -> 8 -> 4 fits, and 4 holds for the rest of the task;
    the next task starts from the config's 16 again."""
    task, _ = parse_task("flip", TASK)
    sizes = out_of_memory_above(4)
    result = solver.solve(task)
    assert [e.predictions for e in result.epochs] == [10, 5, 5]
    assert sizes[:3] == [16, 8, 4] and set(sizes[3:]) == {4}
    sizes = out_of_memory_above(None)
    solver.solve(task)
    assert set(sizes) == {16}


def test_sampling_that_never_fits_fails_the_task_by_name(solver, out_of_memory_above):
    task, _ = parse_task("flip", TASK)
    sizes = out_of_memory_above(0)
    with pytest.raises(SamplingOutOfMemory, match=r"task 'flip' epoch 0: sampling ran out of "
                       r"memory even at batch size 1 \(CUDA out of memory"):
        solver.solve(task)
    assert sizes == [16, 8, 4, 2, 1]


def test_training_out_of_memory_halves_the_tasks_batch_tokens(solver, caplog):
    """tiny-cpu trains on 8192 tokens a step: three halvings, then the epoch keeps its old adapter.
    The trainer's own settings never change, and the next task starts from the config's again."""
    task, _ = parse_task("flip", TASK)
    own = dataclasses.replace(solver.trainer.settings)

    def out_of_memory():
        raise torch.OutOfMemoryError("CUDA out of memory (injected)")

    solver.trainer.fault_hook = out_of_memory
    try:
        with caplog.at_level(logging.WARNING, logger="arcfarm.learn.loop"):
            results = [solver.solve(task), solver.solve(task)]
    finally:
        solver.trainer.fault_hook = None
    assert all(r.epochs[1].train_error.startswith("OutOfMemoryError") for r in results)
    retries = [r.getMessage() for r in caplog.records if "training out of memory" in r.getMessage()]
    assert retries == [f"task flip: training out of memory; retrying with batch_tokens={n}"
                       for n in (4096, 2048, 1024)] * 2
    assert solver.trainer.settings == own


def test_later_epochs_sample_at_their_own_temperature(tiny_model_dir):
    """Greedy after epoch 0 (later_epochs_temperature=0): every sample of one prompt is the same
    text in epochs 1 and 2, while epoch 0 at temperature 1.0 gives different ones."""
    cfg = load_config("tiny-cpu", [f"model={tiny_model_dir}", "initial_predictions=4",
                                   "predictions_per_epoch=4", "max_epochs=2", "samples_per_prompt=4",
                                   "max_new_tokens=24", "temperature=1.0",
                                   "later_epochs_temperature=0"])
    task, _ = parse_task("flip", TASK)
    seen = []
    with Solver(cfg) as s:
        s.solve(task, hooks=LoopHooks(on_predictions=seen.extend))
    texts = {k: [r.response for r in seen if r.epoch == k] for k in (0, 1, 2)}
    assert all(len(t) == 4 for t in texts.values())
    assert len(set(texts[0])) > 1
    assert len(set(texts[1])) == 1 and len(set(texts[2])) == 1
