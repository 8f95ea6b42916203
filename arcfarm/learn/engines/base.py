"""What every sampling engine speaks: parameters, completions, adapter references, the Protocol.

An engine turns fully rendered chat strings (`prompts.render_prompt`, already starting with
`<|begin_of_text|>`, so tokenized with `add_special_tokens=False`) into `n` completions each.
Implementations: `hf.py` (plain transformers, CPU and GPU); vLLM and a fast GPU engine plug in
behind the same Protocol.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol


@dataclass
class SamplingParams:
    temperature: float = 1.0  # 0 = greedy
    top_p: float = 0.95
    max_new_tokens: int = 1024
    seed: int | None = None  # same seed, same samples (on the same engine and hardware)


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


class Engine(Protocol):
    tokenizer: Any

    def generate(self, prompts: list[str], n: int, params: SamplingParams,
                 adapter: AdapterRef | None = None) -> list[list[Completion]]:
        """`n` completions for each prompt, in prompt order."""
        ...
