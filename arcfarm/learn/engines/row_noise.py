"""Sampling whose randomness belongs to each row, not to the batch it happens to be decoded in.

With one global RNG, sample j of prompt i depends on which other prompts share its batch, so two
schedules that split the same prompts into different calls draw different samples. Here the noise
of row r at generated token t is a hash of (row seed, t, token id): the Gumbel-max trick
(argmax of logits/T + Gumbel noise, with top-p applied first) samples exactly from the same
distribution as multinomial sampling, and the draw depends only on the row's seed and its own
logits. `row_seeds(prompt_seeds, n)` gives sample j of prompt i its seed.
"""
from __future__ import annotations

import hashlib

import torch

_M32 = 0xFFFFFFFF


def row_seeds(prompt_seeds: list[int], n: int) -> list[int]:
    """One 32-bit seed per sample, prompt-major (prompt i, sample j), from the prompt's seed."""
    out = []
    for seed in prompt_seeds:
        for j in range(n):
            digest = hashlib.sha256(f"{seed}:{j}".encode()).digest()
            out.append(int.from_bytes(digest[:4], "little"))
    return out


def _mix(x: torch.Tensor) -> torch.Tensor:
    """murmur3's 32-bit finaliser on int64 tensors holding 32-bit values (products are masked back
    to 32 bits, so int64 wrap-around never matters)."""
    x = x ^ (x >> 16)
    x = (x * 0x85EBCA6B) & _M32
    x = x ^ (x >> 13)
    x = (x * 0xC2B2AE35) & _M32
    return x ^ (x >> 16)


def uniform_noise(seeds: torch.Tensor, step: int | torch.Tensor, vocab: int) -> torch.Tensor:
    """U(0,1) float32 [B, vocab]: a function of (seed of the row, step, token id) only. `step` may
    be a one-element tensor (a CUDA graph replays it with the step it holds)."""
    token = torch.arange(vocab, device=seeds.device, dtype=torch.int64)
    base = _mix((seeds.to(torch.int64) * 0x9E3779B1 + (step * 0x27D4EB2F & _M32)) & _M32)
    x = _mix((base[:, None] ^ ((token[None, :] * 0x165667B1) & _M32)) & _M32)
    return (x.to(torch.float64) + 0.5).div_(2.0 ** 32).to(torch.float32)


def top_p_mask(logits: torch.Tensor, top_p: float) -> torch.Tensor:
    """Logits with the tail beyond top_p set to -inf (as transformers' TopPLogitsWarper)."""
    if top_p >= 1.0:
        return logits
    sorted_logits, order = torch.sort(logits, dim=-1)
    cumulative = sorted_logits.softmax(-1).cumsum(-1)
    drop = cumulative <= (1.0 - top_p)
    drop[:, -1] = False  # the most likely token always stays
    return logits.masked_fill(drop.scatter(-1, order, drop), float("-inf"))


def gumbel_scores(logits: torch.Tensor, temperature: float, top_p: float, seeds: torch.Tensor,
                  step: int | torch.Tensor) -> torch.Tensor:
    """Scores whose argmax is a sample at `temperature` and `top_p` with each row's own noise."""
    scores = top_p_mask(logits.float() / temperature, top_p)
    u = uniform_noise(seeds, step, scores.shape[-1])
    return scores - torch.log(-torch.log(u))
