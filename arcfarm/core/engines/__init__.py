"""Sampling engines behind one Protocol (`base.Engine`); `make_engine` picks one by name."""
from __future__ import annotations

from arcfarm.core.engines.base import AdapterRef, Completion, Engine, SamplingParams

__all__ = ["AdapterRef", "Completion", "Engine", "SamplingParams", "make_engine"]

# Engines not built yet, and the extra that will bring what they need.
_MISSING = {
    "vllm": "the vLLM engine is not implemented yet (it will need `pip install arcfarm[vllm]`)",
}


def make_engine(kind: str, model, tokenizer, **kw) -> Engine:
    """`hf` = transformers `generate` (HFEngine), `fast` = FastEngine (Llama models; CUDA graphs on
    CUDA, eager on CPU); keyword arguments go to the engine. `auto` = `fast` on CUDA, else `hf`."""
    if kind == "auto":
        kind = "fast" if next(model.parameters()).device.type == "cuda" else "hf"
    if kind == "fast":
        from arcfarm.core.engines.fast import FastEngine
        return FastEngine(model, tokenizer, **kw)
    if kind == "hf":
        from arcfarm.core.engines.hf import HFEngine
        return HFEngine(model, tokenizer, **kw)
    if kind in _MISSING:
        raise NotImplementedError(f"engine {kind!r}: {_MISSING[kind]}")
    raise ValueError(f"unknown engine {kind!r}; choose one of auto, hf, fast, {', '.join(_MISSING)}")
