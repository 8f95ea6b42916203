"""The training forward of a peft-wrapped Llama with the LoRA math fused: last hidden states.

    hidden = lora_hidden_states(lm, input_ids, "default")   # lm = peft_model.get_base_model()

Same function as `lm.model(input_ids).last_hidden_state` with peft's LoRA layers (causal
attention, no mask: batches are right-padded), computed differently where the profile of a
training step on an H200 showed the time going (../shared/notes/h200-baseline.md, issue 17):
- the LoRA runs in the model's dtype (bf16 on GPU): A and B are cast once per step from their
  float32 master copies (autograd carries the gradients back to them, the optimizer keeps float32
  state); peft instead casts every activation to float32 and runs the LoRA matmuls in FFMA;
- one matmul with the stacked A factors of q/k/v (and of gate/up) instead of one per projection;
- the scale and the add of `x W^T + s (x A^T) B^T` are done by the matmul itself (`addmm` with
  `alpha`), no separate multiply and add over [tokens, out] tensors;
- decoder layers marked by the trainer's `_set_checkpointing` (`layer.gradient_checkpointing`)
  are recomputed in backward.
Only what `FastLoraTrainer` uses: no dropout (peft's default 0), no DoRA, no bias in LoRA.
"""
from __future__ import annotations

import functools
from typing import Callable, NamedTuple

import torch
import torch.nn.functional as F
from torch.utils.checkpoint import checkpoint


def _factors(module, adapter: str):
    """(A, B, scale) of `adapter` in a peft LoRA layer, or None (not LoRA, or not this adapter)."""
    if not hasattr(module, "lora_A") or adapter not in module.lora_A or getattr(module, "merged", False):
        return None
    if getattr(module, "use_dora", {}).get(adapter, False):
        raise NotImplementedError("lora_forward does not support DoRA adapters")
    dropout = module.lora_dropout[adapter]
    if not isinstance(dropout, torch.nn.Identity) and dropout.p > 0:
        raise NotImplementedError("lora_forward does not support LoRA dropout")
    return module.lora_A[adapter].weight, module.lora_B[adapter].weight, float(module.scaling[adapter])


def fused_linears(modules: list, adapter: str, x: torch.Tensor) -> list[torch.Tensor]:
    """`module(x)` for linears that read the same x [N, in], one matmul for all their A factors."""
    bases = [getattr(m, "base_layer", m) for m in modules]
    outs = [F.linear(x, b.weight, b.bias) for b in bases]
    factors = [_factors(m, adapter) for m in modules]
    if all(f is None for f in factors):
        return outs
    if any(f is None for f in factors):  # some have the adapter, some not: one at a time
        return [y for m in modules for y in fused_linears([m], adapter, x)]
    a = torch.cat([f[0] for f in factors]).to(x.dtype) if len(factors) > 1 else factors[0][0].to(x.dtype)
    h = F.linear(x, a)
    at, result = 0, []
    for y, (A, B, scale) in zip(outs, factors):
        r = A.shape[0]
        result.append(torch.addmm(y, h[:, at:at + r], B.to(x.dtype).t(), alpha=scale))
        at += r
    return result


def _rms_norm(x: torch.Tensor, weight: torch.Tensor, eps: float) -> torch.Tensor:
    """Llama's RMSNorm: normalise in float32, cast back, then scale."""
    return weight * F.rms_norm(x.float(), (x.shape[-1],), eps=eps).to(x.dtype)


def _rope(x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor) -> torch.Tensor:
    half = x.shape[-1] // 2
    return x * cos + torch.cat((-x[..., half:], x[..., :half]), dim=-1) * sin


def _rope_qk(q: torch.Tensor, k: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor):
    """q [B, T, Hq, D], k [B, T, Hk, D] rotated, returned as [B, H, T, D] for attention."""
    return (_rope(q, cos[:, :, None], sin[:, :, None]).transpose(1, 2),
            _rope(k, cos[:, :, None], sin[:, :, None]).transpose(1, 2))


def _silu_mul(gate: torch.Tensor, up: torch.Tensor) -> torch.Tensor:
    return F.silu(gate) * up


class Ops(NamedTuple):
    """The elementwise pieces of a layer, replaceable by fused kernels (`liger_ops.py`)."""
    rms_norm: Callable  # (x, weight, eps) -> x normalised and scaled
    rope: Callable  # (q [B, T, Hq, D], k [B, T, Hk, D], cos, sin) -> (q, k) as [B, H, T, D]
    silu_mul: Callable  # (gate, up) -> silu(gate) * up


TORCH_OPS = Ops(_rms_norm, _rope_qk, _silu_mul)


def decoder_layer(layer, adapter: str, x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor,
                  ops: Ops = TORCH_OPS) -> torch.Tensor:
    """One Llama decoder layer on x [B, T, hidden]; cos/sin [B, T, D]."""
    att, mlp = layer.self_attn, layer.mlp
    B, T, hidden = x.shape
    eps = layer.input_layernorm.variance_epsilon
    d = att.head_dim
    h = ops.rms_norm(x, layer.input_layernorm.weight, eps).view(B * T, hidden)
    q, k, v = fused_linears([att.q_proj, att.k_proj, att.v_proj], adapter, h)
    q, k = ops.rope(q.view(B, T, -1, d), k.view(B, T, -1, d), cos, sin)
    v = v.view(B, T, -1, d).transpose(1, 2)
    o = F.scaled_dot_product_attention(q, k, v, is_causal=True, scale=att.scaling,
                                       enable_gqa=q.shape[1] != k.shape[1])
    o = o.transpose(1, 2).reshape(B * T, -1)
    x = x + fused_linears([att.o_proj], adapter, o)[0].view(B, T, hidden)
    h = ops.rms_norm(x, layer.post_attention_layernorm.weight, eps).view(B * T, hidden)
    gate, up = fused_linears([mlp.gate_proj, mlp.up_proj], adapter, h)
    down = fused_linears([mlp.down_proj], adapter, ops.silu_mul(gate, up))[0]
    return x + down.view(B, T, hidden)


def lora_hidden_states(lm, input_ids: torch.Tensor, adapter: str, ops: Ops = TORCH_OPS) -> torch.Tensor:
    """Final-norm hidden states [B, T, hidden] of `lm` (a LlamaForCausalLM inside a peft wrapper)."""
    core = lm.model
    x = F.embedding(input_ids, core.embed_tokens.weight)
    positions = torch.arange(input_ids.shape[1], device=input_ids.device)[None].expand(input_ids.shape[0], -1)
    cos, sin = core.rotary_emb(x, positions)
    for layer in core.layers:
        step = functools.partial(decoder_layer, layer, adapter, ops=ops)
        if getattr(layer, "gradient_checkpointing", False) and torch.is_grad_enabled():
            x = checkpoint(step, x, cos, sin, use_reentrant=False)
        else:
            x = step(x, cos, sin)
    return ops.rms_norm(x, core.norm.weight, core.norm.variance_epsilon)
