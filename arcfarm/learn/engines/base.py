"""What every sampling engine speaks: parameters, completions, adapter references, and `Engine`,
the base class that declares everything the loop uses of an engine.

An engine turns fully rendered chat strings (`prompts.render_prompt`, already starting with
`<|begin_of_text|>`, so tokenized with `add_special_tokens=False`) into `n` completions each.
Implementations: `hf.py` (plain transformers, CPU and GPU), `fast.py` (Llama on CUDA: shared
prefix, CUDA graphs), `vllm_engine.py` (vLLM in its own process). An engine writes `generate`;
the hooks around it default to nothing, which is right for an in-process engine that keeps
nothing between calls.
"""
from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Any


@dataclass
class SamplingParams:
    temperature: float = 1.0  # 0 = greedy
    top_p: float = 0.95
    max_new_tokens: int = 1024
    seed: int | None = None  # same seed, same samples (on the same engine and hardware)
    # One seed per prompt: sample j of prompt i then depends on that seed only, not on the batch
    # it was decoded in (engines that support it: hf, fast, vllm; others fall back to `seed`).
    prompt_seeds: list[int] | None = None


@dataclass
class Completion:
    text: str  # special tokens removed
    prompt_tokens: int
    completion_tokens: int  # generated tokens, the stop token included
    finish_reason: str  # "stop" or "length"


@dataclass
class AdapterRef:
    """A LoRA adapter to sample with; `version` changes every time the trainer updates it."""
    name: str
    version: int
    path: str | None = None  # saved adapter directory, for engines in another process


class Engine(ABC):
    """A sampling engine, as the loop sees it."""

    tokenizer: Any
    batch_size: int  # sequences decoded together when `generate` is given no batch size
    # True: the engine cannot read the trainer's LoRA in memory (vLLM, another process), so the
    # loop saves each epoch's adapter and passes its directory in `AdapterRef.path`.
    needs_adapter_path: bool = False

    @abstractmethod
    def generate(self, prompts: list[str], n: int, params: SamplingParams,
                 adapter: AdapterRef | None = None, *,
                 batch_size: int | None = None) -> list[list[Completion]]:
        """`n` completions for each prompt, in prompt order, `batch_size` sequences at a time
        (None: `self.batch_size`; an engine that schedules its own batches ignores it)."""

    def release(self) -> None:
        """Free what is kept between calls (KV caches, CUDA graphs), e.g. to make room for
        training; the next call builds it again. Nothing to free by default."""

    def before_training(self) -> None:
        """The trainer is about to train in this process: give back what training needs."""

    def after_training(self) -> None:
        """Training is done: take back what `before_training` gave away."""

    def take_note(self) -> str | None:
        """What the engine worked around since the last call (e.g. shapes it could not compile
        and decoded eagerly), for the epoch row; None when nothing happened."""
        return None

    def close(self) -> None:
        """Stop whatever the engine started (a process); the engine is not used afterwards."""
