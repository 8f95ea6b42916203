"""Paired arms: prompt i of a task has the same frame, train-pair order and sampling seed whatever
the schedule, so arms differ only in learning; `learning: false` trains nothing.

The tiny random-init model samples for real in the first test (its programs never run, which does
not matter: the texts are compared). The others use a scripted engine that answers with real
programs and records what it was asked (prompts, temperatures, seeds, adapters); execution,
relabeling and training are real.
"""
from __future__ import annotations

import torch

from arcfarm.arc.prompts import response_text
from arcfarm.arc.tasks import parse_task
from arcfarm.learn.config import load_config
from arcfarm.learn.engines.base import Completion, Engine
from arcfarm.learn.loop import LoopHooks
from arcfarm.learn.solver import Solver

TASK = {"train": [{"input": [[1, 2], [3, 4]], "output": [[3, 4], [1, 2]]},
                  {"input": [[5, 0, 0], [0, 6, 0]], "output": [[0, 6, 0], [5, 0, 0]]},
                  {"input": [[7, 7], [0, 8]], "output": [[0, 8], [7, 7]]}],
        "test": [{"input": [[7, 8], [0, 9]]}]}
BODIES = ("output_grid = np.flipud(input_grid)", "output_grid = np.rot90(input_grid, k=2)",
          "output_grid = np.fliplr(input_grid)", "output_grid = input_grid.T")


class RecordingEngine(Engine):
    """Answers with real programs; records every prompt with its temperature, seed and adapter."""

    def __init__(self, tokenizer):
        self.tokenizer, self.batch_size, self.calls = tokenizer, 64, 0
        self.asked: list[tuple[str, float, int | None, object]] = []

    def generate(self, prompts, n, params, adapter=None, *, batch_size=None):
        out = []
        for i, prompt in enumerate(prompts):
            self.asked.append((prompt, params.temperature, params.prompt_seeds[i], adapter))
            comps = []
            for _ in range(n):
                comps.append(Completion(response_text(
                    "from common import *\n\nimport numpy as np\n\ndef transform(input_grid):\n"
                    f"    {BODIES[self.calls % len(BODIES)]}\n    return output_grid"), 10, 20, "stop"))
                self.calls += 1
            out.append(comps)
        return out


def _records(solver, cfg_overrides, model_dir):
    cfg = load_config("tiny-cpu", [f"model={model_dir}", *cfg_overrides])
    task, _ = parse_task("flip", TASK)
    seen = []
    result = solver.solve(task, cfg, LoopHooks(on_predictions=seen.extend))
    return result, seen


def test_schedules_ask_the_same_prompts_with_the_same_seeds(tiny_model_dir):
    """16 + 0 and 4 + 3x4 without learning: prediction i has the same frame and the same text."""
    torch.set_num_threads(1)
    common = [f"model={tiny_model_dir}", "samples_per_prompt=4", "sample_batch_size=4",
              "max_new_tokens=16", "temperature=1.0"]
    cfg = load_config("tiny-cpu", common + ["initial_predictions=16", "max_epochs=0"])
    with Solver(cfg) as solver:
        _, flat = _records(solver, common[1:] + ["initial_predictions=16", "max_epochs=0"], tiny_model_dir)
        _, rounds = _records(solver, common[1:] + ["initial_predictions=4", "predictions_per_epoch=4",
                                                   "max_epochs=3", "learning=false"], tiny_model_dir)
    assert len(flat) == len(rounds) == 16
    assert [r.epoch for r in rounds] == [0] * 4 + [1] * 4 + [2] * 4 + [3] * 4
    assert [r.augmentation for r in flat] == [r.augmentation for r in rounds]
    assert [r.response for r in flat] == [r.response for r in rounds]
    assert len({str(r.augmentation) for r in flat}) == 4  # 4 prompts, 4 frames
    assert sum(r.augmentation["dihedral"] == 0 and r.augmentation["colors"] == list(range(10))
               for r in flat[::4]) == 1  # the identity frame once per task, not once per round


def test_learning_off_trains_nothing_and_samples_without_an_adapter(tiny_model_dir):
    cfg = load_config("tiny-cpu", [f"model={tiny_model_dir}", "samples_per_prompt=4"])
    with Solver(cfg) as solver:
        solver.engine = RecordingEngine(solver.tokenizer)
        before = solver.trainer.lora_state()
        off, _ = _records(solver, ["samples_per_prompt=4", "initial_predictions=8",
                                   "predictions_per_epoch=8", "max_epochs=2", "learning=false"],
                          tiny_model_dir)
        after_off = solver.trainer.lora_state()
        asked_off = solver.engine.asked
        adapters_off = [a for *_, a in asked_off]
        solver.engine = RecordingEngine(solver.tokenizer)
        on, _ = _records(solver, ["samples_per_prompt=4", "initial_predictions=8",
                                  "predictions_per_epoch=8", "max_epochs=2",
                                  "relabel_policy=all_valid"], tiny_model_dir)
        asked_on = solver.engine.asked
    # both arms ask the same prompts with the same temperatures and seeds; only the adapter differs
    assert [a[:3] for a in asked_off] == [a[:3] for a in asked_on]
    assert [a is not None for *_, a in asked_on] == [False, False, True, True, True, True]
    assert [e.relabeled for e in off.epochs] == [0, 0, 0]
    assert all(e.train_loss is None and e.train_tokens == 0 for e in off.epochs)
    assert adapters_off == [None] * 6
    # the LoRA is the one reset() made for the task: B is zero, so the model is the base model
    assert all(torch.equal(t, after_off[k]) for k, t in before.items() if "lora_B" in k)
    assert all(not t.any() for k, t in after_off.items() if "lora_B" in k)
    # the same schedule with learning on does train (the control is not vacuous)
    assert [e.relabeled > 0 for e in on.epochs] == [False, True, True]
    assert all(e.train_loss is not None for e in on.epochs[1:])


def test_shuffled_train_pairs_and_a_cold_prompt_per_round(tiny_model_dir):
    cfg = load_config("tiny-cpu", [f"model={tiny_model_dir}", "samples_per_prompt=2"])
    with Solver(cfg) as solver:
        runs = {}
        for shuffle in (False, True):
            solver.engine = RecordingEngine(solver.tokenizer)
            _records(solver, ["samples_per_prompt=2", "initial_predictions=8", "predictions_per_epoch=6",
                              "max_epochs=1", f"shuffle_train_pairs={str(shuffle).lower()}",
                              "cold_prompts_per_round=1", "cold_temperature=0.1", "temperature=1.0",
                              "later_epochs_temperature=0.9"], tiny_model_dir)
            runs[shuffle] = solver.engine.asked
    plain, shuffled = runs[False], runs[True]
    assert [t for _, t, _, _ in plain] == [0.1, 1.0, 1.0, 1.0, 0.1, 0.9, 0.9]
    assert [s for _, _, s, _ in plain] == [s for _, _, s, _ in shuffled]  # seeds by prompt number
    assert len({s for _, _, s, _ in plain}) == 7
    # same frames and pairs, another order in some prompts: same characters, different text
    assert any(a != b for (a, *_), (b, *_) in zip(plain, shuffled))
    assert all(sorted(a) == sorted(b) for (a, *_), (b, *_) in zip(plain, shuffled))
