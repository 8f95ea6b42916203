"""The reference's training setup as a baseline for `arcfarm bench gpu` (issue 17, item 4): trl's
`SFTTrainer` with a fresh peft LoRA, built again for every round, batch 1, trl's defaults otherwise
(gradient checkpointing on, bf16 on CUDA).

    rows = trl_training(model, tokenizer, lengths=(2048, 4096, 8192), steps=4, log=print)
    # {2048: {"trl_tok_s": ..., "trl_build_s": ..., "trl_note": None}, ...}

Runs on the bare model, before our trainer wraps it in its own LoRA, and leaves it bare again
(trl's adapter is unloaded). `trl_tok_s` counts the steps after the first (the first pays for
allocation and autotuning, as the other trainers' warm-up steps do); `trl_build_s` is what building
the trainer costs each round (dataset, peft wrapping, optimizer set-up).
"""
from __future__ import annotations

import random
import tempfile
import time
from typing import Callable

import torch

from arcfarm.learn.fast_train import ALL_LINEAR


def trl_training(model, tokenizer, *, lengths: tuple[int, ...], steps: int,
                 log: Callable[[str], None] = print) -> dict[int, dict]:
    """tok/s of trl's SFTTrainer per sequence length; a note instead where it cannot run."""
    try:
        import datasets
        import trl
    except ImportError as exc:
        note = f"not run: trl is not installed ({exc.name})"
        return {n: {"trl_tok_s": None, "trl_build_s": None, "trl_note": note} for n in lengths}
    out = {}
    for length in lengths:
        try:
            out[length] = _one(model, tokenizer, datasets, trl, length, steps)
        except torch.OutOfMemoryError:
            out[length] = {"trl_tok_s": None, "trl_build_s": None, "trl_note": "CUDA out of memory"}
        _free()
        log(f"trl SFTTrainer {length} tokens: {out[length]}")
    return out


def _one(model, tokenizer, datasets, trl, length: int, steps: int) -> dict:
    from peft import LoraConfig
    from transformers import TrainerCallback

    rng = random.Random(length)
    vocab = model.config.vocab_size
    rows = []
    for _ in range(steps + 1):
        ids = [rng.randrange(3, vocab) for _ in range(length)]
        labels = [-100] * (length - length // 4) + ids[length - length // 4:]  # loss on the response
        rows.append({"input_ids": ids, "labels": labels})
    marks: list[float] = []

    class _Clock(TrainerCallback):
        def on_step_end(self, args, state, control, **kwargs):
            _sync()
            marks.append(time.perf_counter())

    cuda = next(model.parameters()).device.type == "cuda"
    with tempfile.TemporaryDirectory(prefix="arcfarm-trl-") as scratch:
        start = time.perf_counter()
        args = trl.SFTConfig(output_dir=scratch, max_steps=steps + 1, per_device_train_batch_size=1,
                             learning_rate=1e-4, lr_scheduler_type="constant", logging_steps=steps + 1,
                             save_strategy="no", report_to=[], max_length=None, packing=False,
                             bf16=cuda, use_cpu=not cuda, dataloader_num_workers=0, disable_tqdm=True)
        trainer = trl.SFTTrainer(model=model, args=args, processing_class=tokenizer,
                                 train_dataset=datasets.Dataset.from_list(rows), callbacks=[_Clock()],
                                 peft_config=LoraConfig(r=32, lora_alpha=64, target_modules=list(ALL_LINEAR),
                                                        task_type="CAUSAL_LM"))
        build_s = time.perf_counter() - start
        try:
            trainer.train()
        finally:
            _restore(trainer.model.unload())
    return _rate(length, marks, build_s)


def _restore(model) -> None:
    """The bare model as our trainer expects it: trl switched on checkpointing and an input hook."""
    on = getattr(model, "is_activation_checkpointing", None)  # transformers >= 5.2x's name
    if on if on is not None else getattr(model, "is_gradient_checkpointing", False):
        model.gradient_checkpointing_disable()
    if hasattr(model, "_require_grads_hook"):
        model.disable_input_require_grads()
    model.eval()


def _rate(length: int, marks: list[float], build_s: float) -> dict:
    if len(marks) < 2:
        return {"trl_tok_s": None, "trl_build_s": round(build_s, 2), "trl_note": "fewer than 2 steps ran"}
    return {"trl_tok_s": round(length * (len(marks) - 1) / (marks[-1] - marks[0]), 1),
            "trl_build_s": round(build_s, 2), "trl_note": None}


def _sync() -> None:
    if torch.cuda.is_available():
        torch.cuda.synchronize()


def _free() -> None:
    if torch.cuda.is_available():
        torch.cuda.empty_cache()
