"""A compiled decode step that hits dynamo's recompile limit mid-run (what killed a 16-process
GPU evaluation: `FailOnRecompileLimitHit` under `fullgraph=True`) must not fail the job: the
shapes past the limit decode eagerly, the tokens are the eager engine's, and the epoch record
says so. On the CPU with the `eager` dynamo backend (tracing and guards, no C++ build) and a
limit of 1 graph, the second suffix bucket already goes past the limit."""
from __future__ import annotations

import warnings

import pytest
import torch
from peft import LoraConfig, get_peft_model

from arcfarm.arc.datasets import load_taskset
from arcfarm.learn.config import load_config
from arcfarm.learn.engines.base import AdapterRef, SamplingParams
from arcfarm.learn.engines.fast import FastEngine, prefix_bucket
from arcfarm.learn.loop import LoopHooks
from arcfarm.learn.model import setup_tokenizer
from arcfarm.learn.solver import Solver
from arcfarm.learn.tiny_model import build_model, build_tokenizer

ALL = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]


def _limited(model, tokenizer, **kw) -> FastEngine:
    torch._dynamo.reset()  # no graphs left from other tests: the limit counts from zero
    return FastEngine(model, tokenizer, use_cuda_graphs=False, suffix_bucket=8, compile_step=True,
                      compile_backend="eager", recompile_limit=1, **kw)


def test_recompile_limit_hit_mid_run_decodes_eagerly():
    tokenizer = setup_tokenizer(build_tokenizer())
    peft = get_peft_model(build_model(tokenizer, seed=0, layers=2, hidden=64),
                          LoraConfig(r=4, lora_alpha=8, target_modules=ALL)).eval()
    ids = tokenizer([tokenizer.bos_token + "a grid of blue"], add_special_tokens=False)["input_ids"]
    params = SamplingParams(temperature=0, max_new_tokens=30)  # suffix buckets 8, 16, 24, 32
    engine = _limited(peft, tokenizer, batch_size=4)
    with pytest.warns(UserWarning, match="FailOnRecompileLimitHit"):
        got = engine.generate_ids(ids, 2, params, AdapterRef("default", 1))
    eager = FastEngine(peft, tokenizer, batch_size=4, use_cuda_graphs=False, suffix_bucket=8)
    assert got == eager.generate_ids(ids, 2, params, AdapterRef("default", 1))
    stats = engine.compile_stats()
    assert stats["compiled_shapes"] >= 1 and stats["fallbacks"] >= 1
    assert "FailOnRecompileLimitHit" in engine.take_note()


def test_the_job_finishes_and_the_epoch_row_says_why(tiny_model_dir):
    cfg = load_config("tiny-cpu", [f"model={tiny_model_dir}", "engine=fast", "exec_workers=1",
                                   "initial_predictions=4", "predictions_per_epoch=4", "max_epochs=1",
                                   "max_new_tokens=40", "relabel_min_train_correct=0",
                                   "stop_after_agreeing=0"])
    task = next(t for t in load_taskset("arc-agi-1/training").tasks if t.id == "6150a2bd")
    epochs = []
    with Solver(cfg) as solver:
        solver.engine = _limited(solver.trainer.model, solver.tokenizer, batch_size=cfg.sample_batch_size)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            result = solver.solve(task, hooks=LoopHooks(on_epoch=lambda rec, preds: epochs.append(rec)))
    assert [e.epoch for e in result.epochs] == [0, 1] and len(epochs) == 2
    assert sum(e.predictions for e in epochs) == 8
    assert "FailOnRecompileLimitHit" in epochs[0].sample_warning
    assert epochs[1].sample_warning is None or "shape(s)" in epochs[1].sample_warning


def test_prefix_buckets_are_few_and_pad_little():
    lengths = range(1, 20_000)
    buckets = {prefix_bucket(n) for n in lengths}
    assert all(n <= prefix_bucket(n) < max(n + 256, 1.25 * n + 1) for n in lengths)
    assert len(buckets) <= 8 + 4 * 4  # 256-steps to 2,048, then four per doubling to 32k
    assert prefix_bucket(8635) == 10240 and prefix_bucket(2000) == 2048
