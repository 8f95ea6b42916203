"""Sampling engines behind one interface (`base.Engine`); `make_engine` builds one by name."""
from __future__ import annotations

from arcfarm.learn.engines.base import AdapterRef, Completion, Engine, SamplingParams

__all__ = ["AdapterRef", "Completion", "Engine", "SamplingParams", "make_engine"]

_KINDS = ("hf", "fast", "vllm")


def make_engine(kind: str, model, tokenizer, **kw) -> Engine:
    """`hf` = transformers `generate` (HFEngine), `fast` = FastEngine (Llama models; CUDA graphs on
    CUDA, eager on CPU), `vllm` = VLLMEngine (the `arcfarm[vllm]` extra; it loads its own copy of
    the weights from `model_path=`, default `model.config._name_or_path`, in the model's dtype);
    keyword arguments go to the engine. The config's `auto` is resolved by the Solver."""
    if kind == "fast":
        from arcfarm.learn.engines.fast import FastEngine
        return FastEngine(model, tokenizer, **kw)
    if kind == "hf":
        from arcfarm.learn.engines.hf import HFEngine
        return HFEngine(model, tokenizer, **kw)
    if kind == "vllm":
        return _vllm_engine(model, tokenizer, **kw)
    raise ValueError(f"unknown engine {kind!r}; choose one of {', '.join(_KINDS)}")


def _vllm_engine(model, tokenizer, model_path: str | None = None, **kw) -> Engine:
    try:  # not a bare `import vllm`: that would accept any folder named vllm on the path
        from vllm import LLM  # noqa: F401
    except ImportError as exc:
        raise ImportError(f"engine 'vllm' needs vLLM: pip install arcfarm[vllm] ({exc})") from exc
    from arcfarm.learn.engines.vllm_engine import VLLMEngine

    model_path = model_path or getattr(model.config, "_name_or_path", None)
    if not model_path:
        raise ValueError("engine 'vllm' needs the model's directory or hub id: pass model_path=")
    # Sample in the precision the trainer trains in (vLLM's CPU build would pick bfloat16).
    kw.setdefault("dtype", str(next(model.parameters()).dtype).removeprefix("torch."))
    return VLLMEngine(model_path, tokenizer, **kw)
