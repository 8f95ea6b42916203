"""A run's `train_kernels` setting: auto never fails (Liger's kernels for long steps where they
load, else torch's), an explicit liger that cannot run is refused with the reason before the task
starts, kernels that fail mid-run hand the step to the torch ops, and torch puts the torch ops back
whatever ran before."""
from __future__ import annotations

import numpy as np
import pydantic
import pytest
import torch

from arcfarm.arc.tasks import Pair, Task
from arcfarm.learn.config import RunConfig, load_config
from arcfarm.learn.fast_train import (
    ALL_LINEAR,
    AUTO_LIGER_MIN_TOKENS,
    FastLoraTrainer,
    apply_train_kernels,
)
from arcfarm.learn.lora_forward import TORCH_OPS, Ops
from arcfarm.learn.model import setup_tokenizer
from arcfarm.learn.solver import Solver
from arcfarm.learn.tiny_model import build_model, build_tokenizer
from arcfarm.learn.trainer import LoraSettings, LoraTrainer, TrainExample


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
        assert getattr(trainer, "ops", TORCH_OPS) is TORCH_OPS


def _fake_cuda(trainer, monkeypatch, load):
    """use_kernels' checks as on a CUDA machine, with `load` standing in for load_liger_ops."""
    import arcfarm.learn.liger_ops as liger_ops
    monkeypatch.setattr(trainer, "_device", lambda: torch.device("cuda"))
    monkeypatch.setattr(liger_ops, "load_liger_ops", load)


def test_auto_takes_liger_for_long_steps_where_it_loads_and_torch_where_it_does_not(monkeypatch):
    trainer = _trainer(FastLoraTrainer)
    stand_in = Ops(*TORCH_OPS)
    _fake_cuda(trainer, monkeypatch, lambda: stand_in)
    assert apply_train_kernels(trainer, "auto") == "liger"
    assert trainer.ops is stand_in and trainer.kernels_min_tokens == AUTO_LIGER_MIN_TOKENS
    assert apply_train_kernels(trainer, "liger") == "liger" and trainer.kernels_min_tokens == 0

    def missing():
        raise ImportError("No module named 'liger_kernel'")
    trainer = _trainer(FastLoraTrainer)
    _fake_cuda(trainer, monkeypatch, missing)
    assert apply_train_kernels(trainer, "auto") == "torch" and trainer.ops is TORCH_OPS
    with pytest.raises(ValueError, match="liger_kernel"):
        apply_train_kernels(trainer, "liger")


def _examples():
    return [TrainExample(prompt=f"task {i} " * 12, response=f"answer {i} " * 6) for i in range(4)]


def test_kernels_that_fail_mid_run_hand_the_step_to_the_torch_ops(monkeypatch):
    want = _trainer(FastLoraTrainer)
    want.reset(seed=0)
    expected = want.train(_examples())
    assert expected.error is None and expected.steps > 0

    trainer = _trainer(FastLoraTrainer)
    trainer.reset(seed=0)

    def broken(gate, up):
        raise RuntimeError("triton: no C compiler")  # as a kernel that cannot be built
    trainer.ops, trainer.kernels = Ops(TORCH_OPS.rms_norm, TORCH_OPS.rope, broken), "liger"
    report = trainer.train(_examples())
    assert report.error is None and report.steps == expected.steps and report.loss == pytest.approx(expected.loss)
    assert trainer.kernels == "torch" and trainer.ops is TORCH_OPS
    assert "no C compiler" in trainer.kernels_note
    got, ref = trainer.lora_state(), want.lora_state()
    assert got.keys() == ref.keys()
    for name in ref:  # the same training as the torch ops' from the start
        torch.testing.assert_close(got[name], ref[name])
    _fake_cuda(trainer, monkeypatch, lambda: Ops(*TORCH_OPS))
    assert "no C compiler" in trainer.use_kernels("liger")  # not tried again in this process


def test_an_explicit_liger_that_cannot_run_says_why():
    with pytest.raises(ValueError, match="train_kernels liger: .*CUDA"):
        apply_train_kernels(_trainer(FastLoraTrainer), "liger")
    with pytest.raises(ValueError, match="train_kernels liger: .*no fused forward"):
        apply_train_kernels(_trainer(LoraTrainer), "liger")
    with pytest.raises(ValueError, match="auto, torch or liger"):
        apply_train_kernels(_trainer(FastLoraTrainer), "triton")
    with pytest.raises(pydantic.ValidationError, match="train_kernels"):
        RunConfig(train_kernels="triton")


def test_steps_shorter_than_the_threshold_run_the_torch_ops_and_torch_puts_them_back():
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
    assert apply_train_kernels(trainer, "torch") == "torch"
    assert trainer.kernels == "torch" and trainer.kernels_min_tokens == 0 and trainer.ops is TORCH_OPS


def test_a_solve_asking_for_liger_on_a_cpu_fails_before_the_loop_starts(tiny_model_dir):
    cfg = load_config("tiny-cpu", [f"model={tiny_model_dir}", "exec_workers=1", "train_kernels=liger"])
    task = Task("t", train=[Pair(np.array([[1]]), np.array([[2]]))], test_inputs=[np.array([[1]])])
    started = []
    with Solver(cfg) as solver:
        solver.engine.generate = lambda *a, **k: started.append(1)  # the loop's first step
        with pytest.raises(ValueError, match="train_kernels liger"):
            solver.solve(task)
    assert started == []
