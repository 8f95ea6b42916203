"""A run's `train_kernels` setting: auto never fails (Liger's kernels where they run, else torch's),
an explicit liger that cannot run is refused with the reason before the task starts, and torch
puts the torch ops back whatever ran before."""
from __future__ import annotations

import numpy as np
import pydantic
import pytest
import torch

from arcfarm.arc.tasks import Pair, Task
from arcfarm.learn.config import RunConfig, load_config
from arcfarm.learn.fast_train import ALL_LINEAR, FastLoraTrainer, apply_train_kernels
from arcfarm.learn.lora_forward import TORCH_OPS, Ops
from arcfarm.learn.model import setup_tokenizer
from arcfarm.learn.solver import Solver
from arcfarm.learn.tiny_model import build_model, build_tokenizer
from arcfarm.learn.trainer import LoraSettings, LoraTrainer


def _trainer(cls):
    tokenizer = setup_tokenizer(build_tokenizer())
    model = build_model(tokenizer, seed=0, layers=2, hidden=128)
    return cls(model, tokenizer, LoraSettings(rank=4, target_modules=list(ALL_LINEAR)))


def test_auto_is_the_default_and_falls_back_to_the_torch_ops_on_a_cpu():
    assert RunConfig().train_kernels == "auto"
    for cls in (FastLoraTrainer, LoraTrainer):
        trainer = _trainer(cls)
        assert apply_train_kernels(trainer, "auto") == "torch"
        assert apply_train_kernels(trainer, "torch") == "torch"
    assert trainer.__class__ is LoraTrainer and not hasattr(trainer, "ops")


def test_an_explicit_liger_that_cannot_run_says_why():
    with pytest.raises(ValueError, match="train_kernels liger: .*CUDA"):
        apply_train_kernels(_trainer(FastLoraTrainer), "liger")
    with pytest.raises(ValueError, match="train_kernels liger: .*no fused forward"):
        apply_train_kernels(_trainer(LoraTrainer), "liger")
    with pytest.raises(ValueError, match="auto, torch or liger"):
        apply_train_kernels(_trainer(FastLoraTrainer), "triton")
    with pytest.raises(pydantic.ValidationError, match="train_kernels"):
        RunConfig(train_kernels="triton")


def test_torch_puts_the_torch_ops_back():
    trainer = _trainer(FastLoraTrainer)
    trainer.ops, trainer.kernels = Ops(*TORCH_OPS), "liger"  # as a CUDA machine's liger run leaves it
    assert trainer.ops is not TORCH_OPS
    assert apply_train_kernels(trainer, "torch") == "torch"
    assert trainer.ops is TORCH_OPS and trainer.kernels == "torch"


def test_steps_shorter_than_the_threshold_run_the_torch_ops():
    trainer = _trainer(FastLoraTrainer)
    calls = []

    def silu_mul(gate, up):
        calls.append(gate.shape[:-1].numel())
        return TORCH_OPS.silu_mul(gate, up)
    trainer.ops, trainer.kernels, trainer.kernels_min_tokens = \
        Ops(TORCH_OPS.rms_norm, TORCH_OPS.rope, silu_mul), "liger", 64  # a stand-in for Liger's
    vocab = trainer.model.config.vocab_size
    trainer._hidden(torch.randint(3, vocab, (2, 31)))  # 62 tokens: below
    assert calls == []
    trainer._hidden(torch.randint(3, vocab, (2, 32)))  # 64 tokens: at the threshold
    assert calls == [64] * len(trainer._lm.model.layers)
    trainer.use_kernels("torch")
    assert trainer.kernels_min_tokens == 0 and trainer.ops is TORCH_OPS


def test_a_solve_asking_for_liger_on_a_cpu_fails_before_the_loop_starts(tiny_model_dir):
    cfg = load_config("tiny-cpu", [f"model={tiny_model_dir}", "exec_workers=1", "train_kernels=liger"])
    task = Task("t", train=[Pair(np.array([[1]]), np.array([[2]]))], test_inputs=[np.array([[1]])])
    started = []
    with Solver(cfg) as solver:
        solver.engine.generate = lambda *a, **k: started.append(1)  # the loop's first step
        with pytest.raises(ValueError, match="train_kernels liger"):
            solver.solve(task)
    assert started == []
