"""Sampling with plain transformers `model.generate`: the reference engine, CPU or GPU.

`HFEngine(model, tokenizer, batch_size)` samples `n` completions per prompt, `batch_size`
sequences at a time (or the `batch_size` a call passes), left-padded. The model may be the
trainer's peft `PeftModel`: with `adapter=None` the LoRA is switched off (`disable_adapter()`), so
the base model samples; with an `AdapterRef` the LoRA in that same object is active. No copy of
the model is ever made.

Reproducibility: with `params.seed` set, `torch.manual_seed(seed)` runs before the first batch, so
the same prompts, n, params and batch size give the same samples on the same hardware. With
`params.prompt_seeds` set, each row draws its own noise (`row_noise`): sample j of prompt i is the
same whatever else shares its batch (up to float rounding of a differently shaped batch).
"""
from __future__ import annotations

import contextlib
from typing import Callable

import torch
from transformers import LogitsProcessor, LogitsProcessorList

from arcfarm.learn.engines.base import AdapterRef, Completion, Engine, SamplingParams
from arcfarm.learn.engines.row_noise import gumbel_scores, row_seeds
from arcfarm.learn.model import stop_token_ids


def _is_peft(model) -> bool:
    return hasattr(model, "disable_adapter") and hasattr(model, "peft_config")


class HFEngine(Engine):
    """An `Engine` on top of `model.generate`; nothing is kept between calls."""

    def __init__(self, model, tokenizer, batch_size: int = 64):
        if tokenizer.pad_token_id is None:
            raise ValueError("tokenizer has no pad token; load it with arcfarm.learn.model.load_model")
        self.model = model
        self.tokenizer = tokenizer
        self.batch_size = batch_size
        self.stop_ids = stop_token_ids(tokenizer)
        # Tests: called with each batch's size before it is decoded (e.g. to raise an OOM).
        self.fault_hook: Callable[[int], None] | None = None

    def generate(self, prompts: list[str], n: int, params: SamplingParams,
                 adapter: AdapterRef | None = None, *,
                 batch_size: int | None = None) -> list[list[Completion]]:
        size = batch_size or self.batch_size
        encoded = self.tokenizer(prompts, add_special_tokens=False)["input_ids"]
        # One row per sequence, prompt-major: a batch mostly repeats one prompt, so little padding.
        rows = [p for p in range(len(prompts)) for _ in range(n)]
        results: list[list[Completion]] = [[] for _ in prompts]
        seeds = None
        if params.prompt_seeds is not None:
            if len(params.prompt_seeds) != len(prompts):
                raise ValueError(f"prompt_seeds: {len(params.prompt_seeds)} seeds for {len(prompts)} prompts")
            seeds = row_seeds(params.prompt_seeds, n)
        elif params.seed is not None:
            torch.manual_seed(params.seed)
        with self._adapter_context(adapter), torch.inference_mode():
            for start in range(0, len(rows), size):
                batch = rows[start:start + size]
                if self.fault_hook is not None:
                    self.fault_hook(len(batch))
                batch_seeds = None if seeds is None else seeds[start:start + size]
                for p, completion in zip(batch, self._generate_batch([encoded[p] for p in batch], params,
                                                                     batch_seeds)):
                    results[p].append(completion)
        return results

    def _adapter_context(self, adapter: AdapterRef | None):
        """LoRA off for the base model, on (the named adapter if the model has it) otherwise."""
        if not _is_peft(self.model):
            if adapter is not None:
                raise ValueError(f"adapter {adapter.name!r} requested but the model has no LoRA")
            return _eval_mode(self.model)
        if adapter is None:
            return _chain(_eval_mode(self.model), self.model.disable_adapter())
        if adapter.name in self.model.peft_config:
            self.model.set_adapter(adapter.name)
        return _eval_mode(self.model)

    def _generate_batch(self, prompt_ids: list[list[int]], params: SamplingParams,
                        seeds: list[int] | None = None) -> list[Completion]:
        device = next(self.model.parameters()).device
        width = max(len(ids) for ids in prompt_ids)
        pad = self.tokenizer.pad_token_id
        input_ids = torch.tensor([[pad] * (width - len(ids)) + ids for ids in prompt_ids], device=device)
        mask = torch.tensor([[0] * (width - len(ids)) + [1] * len(ids) for ids in prompt_ids], device=device)
        kwargs = _sampling_kwargs(params)
        if seeds is not None and params.temperature > 0:
            # Greedy over scores that already hold each row's own Gumbel noise = a sample.
            noise = _RowNoise(torch.tensor(seeds, device=device), width, params)
            kwargs = {**_sampling_kwargs(SamplingParams(temperature=0)),
                      "logits_processor": LogitsProcessorList([noise])}
        out = self.model.generate(input_ids=input_ids, attention_mask=mask,
                                  max_new_tokens=params.max_new_tokens, eos_token_id=self.stop_ids,
                                  pad_token_id=pad, **kwargs)
        generated = out[:, width:].tolist()
        return [self._completion(ids, len(p)) for ids, p in zip(generated, prompt_ids)]

    def _completion(self, ids: list[int], prompt_tokens: int) -> Completion:
        """Cut at the first stop token (kept in the count); rows that never stopped ran to the limit."""
        stops = set(self.stop_ids)
        end = next((i + 1 for i, t in enumerate(ids) if t in stops), None)
        reason = "stop" if end is not None else "length"
        ids = ids[:end] if end is not None else ids
        text = self.tokenizer.decode(ids, skip_special_tokens=True)
        return Completion(text=text, prompt_tokens=prompt_tokens, completion_tokens=len(ids),
                          finish_reason=reason)


class _RowNoise(LogitsProcessor):
    """Temperature, top-p and per-row Gumbel noise keyed by (row seed, generated-token index)."""

    def __init__(self, seeds: torch.Tensor, prompt_width: int, params: SamplingParams):
        self.seeds, self.width, self.params = seeds, prompt_width, params

    def __call__(self, input_ids: torch.Tensor, scores: torch.Tensor) -> torch.Tensor:
        step = input_ids.shape[1] - self.width
        return gumbel_scores(scores, self.params.temperature, self.params.top_p, self.seeds, step)


def _sampling_kwargs(params: SamplingParams) -> dict:
    """Every sampling knob explicit, so the model's own generation_config (e.g. Llama's
    temperature 0.6, top_p 0.9) and transformers' top_k=50 default never leak in."""
    if params.temperature <= 0:
        return {"do_sample": False, "temperature": 1.0, "top_p": 1.0}  # neutral: no flag warnings
    return {"do_sample": True, "temperature": params.temperature, "top_p": params.top_p, "top_k": 0}


@contextlib.contextmanager
def _eval_mode(model):
    """Sampling never uses dropout; the trainer's train/eval state is put back afterwards."""
    was_training = model.training
    model.eval()
    try:
        yield
    finally:
        model.train(was_training)


@contextlib.contextmanager
def _chain(*contexts):
    with contextlib.ExitStack() as stack:
        for c in contexts:
            stack.enter_context(c)
        yield
