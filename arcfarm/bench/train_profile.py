"""`gpu_bench` sections `numerics` and `profile`: the fused LoRA training path against peft's layers.

numerics: one batch through FastLoraTrainer's fused forward (bf16 LoRA, arcfarm.learn.lora_forward)
and through peft's own layers (float32 LoRA), same weights, a non-zero adapter: the loss and every
LoRA gradient compared (relative difference).
profile: one training step under the PyTorch profiler; the kernels that take the most GPU time.
"""
from __future__ import annotations

import random

import torch


def _nonzero_adapter(trainer, seed: int = 0) -> None:
    trainer.reset(seed=seed)
    gen = torch.Generator(device="cpu").manual_seed(seed)
    with torch.no_grad():
        for name, p in trainer._params.items():
            if "lora_B" in name:  # B is zero at init: make the adapter matter
                p.copy_((torch.randn(p.shape, generator=gen) * 0.01).to(p.device, p.dtype))


def _loss_and_grads(trainer, batch) -> tuple[float, dict[str, torch.Tensor]]:
    ids, labels, _ = batch
    device = trainer._device()
    ids, labels = ids.to(device), labels.to(device)
    from arcfarm.learn.fast_train import chunked_cross_entropy
    hidden = trainer._hidden(ids)
    targets = labels[:, 1:]
    picked = targets != -100
    loss = chunked_cross_entropy(hidden[:, :-1][picked], trainer._lm.lm_head.weight, targets[picked],
                                 trainer.ce_chunk) / max(int(picked.sum()), 1)
    loss.backward()
    grads = {n: p.grad.detach().float().clone() for n, p in trainer._params.items()}
    for p in trainer._params.values():
        p.grad = None
    return loss.item(), grads


def check_numerics(trainer, length: int, log) -> dict:
    from arcfarm.bench.gpu_bench import _batch
    batch = _batch(random.Random(7), trainer.model.config.vocab_size, length)
    _nonzero_adapter(trainer)
    trainer.model.train()
    fused_before, kernels_before = trainer.fused, (trainer.kernels, trainer.kernels_min_tokens)
    liger = None
    try:
        trainer.use_kernels("torch")  # the reference for Liger's, whatever the run uses
        trainer.fused = False
        ref_loss, ref = _loss_and_grads(trainer, batch)
        trainer.fused = True
        loss, got = _loss_and_grads(trainer, batch)
        liger_note = trainer.use_kernels("liger")
        if liger_note is None:
            liger = _loss_and_grads(trainer, batch)
    finally:
        trainer.use_kernels(*kernels_before)
        trainer.fused = fused_before
        trainer.model.eval()
        trainer.reset(seed=0)
    rel = _rel_diffs(got, ref)
    row = {"tokens": length, "loss_peft_fp32_lora": round(ref_loss, 6), "loss_fused_bf16_lora": round(loss, 6),
           "loss_rel_diff": abs(loss - ref_loss) / abs(ref_loss),
           "grad_rel_diff_median": rel[len(rel) // 2], "grad_rel_diff_max": rel[-1], "tensors": len(rel)}
    log(f"numerics {length} tokens: loss {ref_loss:.5f} (peft) vs {loss:.5f} (fused); grad rel diff "
        f"median {row['grad_rel_diff_median']:.2e}, max {row['grad_rel_diff_max']:.2e}")
    if liger is None:
        row["liger_note"] = liger_note
    else:  # Liger's kernels against the torch ops, both on the fused bf16 path
        liger_rel = _rel_diffs(liger[1], got)
        row.update({"loss_fused_liger": round(liger[0], 6), "liger_loss_rel_diff": abs(liger[0] - loss) / abs(loss),
                    "liger_grad_rel_diff_median": liger_rel[len(liger_rel) // 2],
                    "liger_grad_rel_diff_max": liger_rel[-1]})
        log(f"numerics, liger vs torch ops: loss {liger[0]:.5f} vs {loss:.5f}; grad rel diff median "
            f"{row['liger_grad_rel_diff_median']:.2e}, max {row['liger_grad_rel_diff_max']:.2e}")
    return row


def _rel_diffs(got: dict, ref: dict) -> list[float]:
    return sorted(((got[n] - ref[n]).norm() / ref[n].norm().clamp_min(1e-30)).item() for n in ref)


def profile_step(trainer, length: int, log, top: int = 25) -> dict:
    """One optimizer step (after a warm-up) under torch.profiler; kernels by GPU time."""
    from torch.profiler import ProfilerActivity, profile

    from arcfarm.bench.gpu_bench import _batch, _sync, _timed, kernels_in_use
    batch = _batch(random.Random(8), trainer.model.config.vocab_size, length)
    trainer.reset(seed=0)
    optimizer = trainer._get_optimizer(trainer.settings)
    trainer.model.train()
    try:
        trainer._step(batch, optimizer, trainer.settings.max_grad_norm)
        _, plain_s = _timed(lambda: trainer._step(batch, optimizer, trainer.settings.max_grad_norm))
        with profile(activities=[ProfilerActivity.CPU, ProfilerActivity.CUDA]) as prof:
            trainer._step(batch, optimizer, trainer.settings.max_grad_norm)
            _sync()
    finally:
        trainer.model.eval()
    # Kernels and copies only (operators on the CPU side would count their kernels twice).
    events = [e for e in prof.key_averages() if str(e.device_type).endswith("CUDA")]
    total_us = sum(getattr(e, "self_device_time_total", 0) for e in events)
    events.sort(key=lambda e: getattr(e, "self_device_time_total", 0), reverse=True)
    kernels = [{"name": e.key[:120], "ms": round(e.self_device_time_total / 1000, 2), "calls": e.count,
                "share": round(e.self_device_time_total / max(total_us, 1), 4)} for e in events[:top]]
    result = {"tokens": length, "train_kernels": kernels_in_use(trainer, trainer.kernels),
              "step_s_unprofiled": round(plain_s, 4),
              "gpu_busy_ms": round(total_us / 1000, 1), "kernels": kernels}
    log(f"profile {length} tokens: step {plain_s * 1000:.0f} ms, GPU busy {total_us / 1000:.0f} ms; top: "
        + "; ".join(f"{k['name'][:40]} {k['ms']} ms" for k in kernels[:6]))
    return result
