"""Liger Kernel's Triton kernels for the elementwise pieces of `lora_forward`'s Llama layer.

    ops = load_liger_ops()            # ImportError without liger-kernel (and triton)
    lora_hidden_states(lm, ids, "default", ops)

The profile of an 8k-token training step on an H200 (bench/results/gpu-nvidia-h200-2026-12-03.json,
`profile`) spends ~168 of the 621 ms the GPU was busy outside matmuls and attention: casts,
RMSNorm, RoPE, SiLU x up.
Liger fuses each into one kernel with its own backward (the library trl uses for the same job).
Same maths as `lora_forward.TORCH_OPS`: RMSNorm in float32 cast back before the weight ("llama"
casting), RoPE of the rotate-half kind with cos/sin [B, T, D]. Triton needs CUDA. Measured on an
H200 (bench/results/gpu-nvidia-h200-2026-12-04.json): 1.11x tokens/s on a round of 90 examples of
varied length and 1.12-1.14x on one 4k or 8k sequence (alternated with the torch ops in one
process), 0.84x on one 2k sequence, and 0.975x in the width probe's last round (run after the
torch rounds, so not a paired comparison); the 8k step's other kernels took ~78 of 571 busy ms
(another day's profile); losses 3.4e-4 apart from the torch ops'.
`RunConfig.train_kernels` (auto) takes them where they run (`fast_train.apply_train_kernels`).
"""
from __future__ import annotations

from arcfarm.learn.lora_forward import Ops


def load_liger_ops() -> Ops:
    from liger_kernel.ops.rms_norm import LigerRMSNormFunction
    from liger_kernel.ops.rope import LigerRopeFunction
    from liger_kernel.ops.swiglu import LigerSiLUMulFunction

    def rms_norm(x, weight, eps):
        # offset 0, Llama's casting; not in place (Liger's default overwrites the incoming
        # gradient with dX to save memory; we keep autograd's buffers as autograd left them)
        return LigerRMSNormFunction.apply(x, weight, eps, 0.0, "llama", False)

    def rope(q, k, cos, sin):
        # Liger takes q/k as [B, H, T, D] views and rotates them in their [B, T, H, D] storage
        return LigerRopeFunction.apply(q.transpose(1, 2), k.transpose(1, 2), cos, sin)

    return Ops(rms_norm, rope, LigerSiLUMulFunction.apply)
