"""The reference's training setup as a baseline for `arcfarm bench gpu` (issue 17, item 4): trl's
`SFTTrainer` with a fresh peft LoRA, built again for every round, batch 1, trl's defaults otherwise
(gradient checkpointing on, bf16 on CUDA).

    rows = trl_training(model, tokenizer, lengths=(2048, 4096, 8192), steps=4, log=print)
    # {2048: {"trl_tok_s": ..., "trl_build_s": ..., "trl_round_s": ..., "trl_note": None}, ...}

Runs on the bare model, before our trainer wraps it in its own LoRA, and hands it back as it was
(`_Snapshot`). `trl_tok_s` counts the steps after the first (the first pays for allocation and
autotuning, as the other trainers' warm-up steps do); `trl_build_s` is building the trainer
(dataset, peft wrapping) and `trl_round_s` the whole round: building, then `train()` with its
optimizer and accelerator set-up and every step. Any error becomes a note on the row, not a failed
bench.
"""
from __future__ import annotations

import random
import tempfile
import time
from typing import Callable

import torch

from arcfarm.bench.gpu_bench import _free, _sync  # gpu_bench imports this module only inside run()
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
        saved = _Snapshot(model)
        try:
            out[length] = _one(model, tokenizer, datasets, trl, length, steps)
        except Exception as exc:  # a baseline that cannot run must not cost the rest of the bench
            kind = "CUDA out of memory" if isinstance(exc, torch.OutOfMemoryError) else f"{type(exc).__name__}: {exc}"
            out[length] = {"trl_tok_s": None, "trl_build_s": None, "trl_round_s": None, "trl_note": kind[:300]}
        finally:
            saved.restore(model)
            _free()
        log(f"trl SFTTrainer {length} tokens: {out[length]}")
    return out


class _Snapshot:
    """What trl changes on the model it is given, so it can be put back: LoRA layers (unloaded),
    config and generation config (use_cache, token ids), requires_grad, forward hooks (trl's
    input-require-grads hook, registered more than once), an instance `forward` (its fused head)."""

    def __init__(self, model):
        self.config = dict(vars(model.config))
        self.generation = dict(vars(model.generation_config)) if model.generation_config else None
        self.grad = {n: p.requires_grad for n, p in model.named_parameters()}
        self.hooks = {n: set(m._forward_hooks) for n, m in model.named_modules()}
        self.attrs = set(vars(model))

    def restore(self, model) -> None:
        from peft.tuners.lora import LoraLayer

        # what peft's unload does, for a LoRA whose PeftModel is gone with a failed trainer
        for name, module in [(n, m) for n, m in model.named_modules() if isinstance(m, LoraLayer)]:
            parent, _, child = name.rpartition(".")
            setattr(model.get_submodule(parent), child, module.get_base_layer())
        for name, module in model.named_modules():
            for key in set(module._forward_hooks) - self.hooks.get(name, set()):
                del module._forward_hooks[key]
        for key in set(vars(model)) - self.attrs:
            if not isinstance(getattr(model, key), torch.nn.Module):
                delattr(model, key)
        _reset(model.config, self.config)
        if self.generation is not None:
            _reset(model.generation_config, self.generation)
        for n, p in model.named_parameters():
            p.requires_grad_(self.grad.get(n, p.requires_grad))
        model.eval()


def _reset(obj, saved: dict) -> None:
    for key in set(vars(obj)) - set(saved):
        delattr(obj, key)
    vars(obj).update(saved)


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
        trainer.train()
        _sync()
        round_s = time.perf_counter() - start
        trainer.model.unload()
    on = getattr(model, "is_activation_checkpointing", None)  # transformers >= 5.2x's name
    if on if on is not None else getattr(model, "is_gradient_checkpointing", False):
        model.gradient_checkpointing_disable()
    return _rate(length, marks, build_s, round_s)


def _rate(length: int, marks: list[float], build_s: float, round_s: float) -> dict:
    out = {"trl_tok_s": None, "trl_build_s": round(build_s, 2), "trl_round_s": round(round_s, 2),
           "trl_note": "fewer than 2 steps ran"}
    if len(marks) >= 2:
        out.update(trl_tok_s=round(length * (len(marks) - 1) / (marks[-1] - marks[0]), 1), trl_note=None)
    return out
