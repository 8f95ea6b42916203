"""Sampling engines behind one Protocol (`base.Engine`); `make_engine` picks one by name."""
from __future__ import annotations

from arcfarm.core.engines.base import AdapterRef, Completion, Engine, SamplingParams

__all__ = ["AdapterRef", "Completion", "Engine", "SamplingParams", "make_engine"]

# Engines not built yet, and the extra that will bring what they need.
_MISSING = {
    "vllm": "the vLLM engine is not implemented yet (it will need `pip install arcfarm[vllm]`)",
    "fast": "the fast GPU engine is not implemented yet (it will need a CUDA machine)",
}


def make_engine(kind: str, model, tokenizer, **kw) -> Engine:
    """`hf` = transformers `generate` (HFEngine); keyword arguments go to the engine.
    `auto` is `hf` until a GPU engine exists."""
    if kind in ("hf", "auto"):
        from arcfarm.core.engines.hf import HFEngine
        return HFEngine(model, tokenizer, **kw)
    if kind in _MISSING:
        raise NotImplementedError(f"engine {kind!r}: {_MISSING[kind]}")
    raise ValueError(f"unknown engine {kind!r}; choose one of hf, {', '.join(_MISSING)}")
