"""Sampling with vLLM (`pip install arcfarm[vllm]`): paged attention, continuous batching, LoRA
adapters loaded from the directories the trainer saves.

    engine = VLLMEngine("models/tiny", tokenizer)          # make_engine("vllm", model, tokenizer)
    engine.generate(prompts, 8, SamplingParams(), AdapterRef("task", 1, "/tmp/task/epoch-1"))

vLLM holds its own copy of the base weights (it cannot sample through the trainer's peft model),
so every adapter reaches it as files: the loop saves the LoRA after each epoch's training
(`needs_adapter_path`) and passes the directory in the `AdapterRef`. Each new (name, version,
path, file stamp) gets a new `LoRARequest` with a fresh integer id, and a new name when the plain
`name-vVERSION` was already used: vLLM caches adapters by id and keys its prefix cache on name and
path, so a reused one would serve stale weights. `adapter=None` samples from the base model.

Memory: on CUDA the trainer lives in the same process, so vLLM takes `gpu_memory_utilization=0.5`
of the GPU by default (weights + KV cache) and leaves the rest to training; raise it when the
model is small next to the GPU. With `sleep_during_training=True` (CUDA only; vLLM's sleep mode)
`before_training()` offloads vLLM's weights to host memory and drops its KV cache, and
`after_training()` brings them back. On the CPU build (measured in ../shared/notes/vllm-cpu.md)
the flag is the share of host memory for the KV cache: 0.2 by default, and `enforce_eager=True`.

vLLM runs its engine core in a spawned process: scripts that build this engine need the
`if __name__ == "__main__":` guard.
"""
from __future__ import annotations

import itertools
import os
from pathlib import Path

import torch

from arcfarm.learn.engines.base import AdapterRef, Completion, Engine, SamplingParams
from arcfarm.learn.model import stop_token_ids

# vLLM accepts only these `max_lora_rank` values; a config's rank is rounded up to the next one.
VLLM_LORA_RANKS = (1, 8, 16, 32, 64, 128, 256, 320, 512)
ADAPTER_FILE = "adapter_model.safetensors"  # what LoraTrainer.save writes


def supported_lora_rank(rank: int) -> int:
    """The smallest rank vLLM accepts that is >= `rank`."""
    for r in VLLM_LORA_RANKS:
        if r >= rank:
            return r
    raise ValueError(f"LoRA rank {rank} is above vLLM's largest max_lora_rank {VLLM_LORA_RANKS[-1]}")


class VLLMEngine(Engine):
    """An `Engine` on top of `vllm.LLM`. vLLM schedules its own batches (`max_num_seqs`):
    `batch_size` is kept for the interface and ignored."""

    needs_adapter_path = True  # the loop saves the adapter to disk after each epoch's training

    def __init__(self, model_path: str, tokenizer, max_lora_rank: int = 64,
                 gpu_memory_utilization: float | None = None, enforce_eager: bool | None = None,
                 sleep_during_training: bool = False, batch_size: int = 64, **llm_kwargs):
        from vllm import LLM  # the optional extra; make_engine explains how to install it

        on_cuda = torch.cuda.is_available()
        if sleep_during_training and not on_cuda:
            raise ValueError("sleep_during_training needs CUDA (vLLM's sleep mode)")
        if gpu_memory_utilization is None:
            gpu_memory_utilization = 0.5 if on_cuda else 0.2
        if enforce_eager is None:
            enforce_eager = not on_cuda
        self.model_path = str(model_path)
        self.tokenizer = tokenizer
        self.batch_size = batch_size
        self.stop_ids = stop_token_ids(tokenizer)
        self.sleep_during_training = sleep_during_training
        self.llm = LLM(model=self.model_path, enable_lora=True,
                       max_lora_rank=supported_lora_rank(max_lora_rank),
                       gpu_memory_utilization=gpu_memory_utilization, enforce_eager=enforce_eager,
                       enable_sleep_mode=sleep_during_training, **llm_kwargs)
        self._lora_ids = itertools.count(1)
        self._requests: dict[tuple, object] = {}  # adapter key -> LoRARequest
        self._names: set[str] = set()

    def generate(self, prompts: list[str], n: int, params: SamplingParams,
                 adapter: AdapterRef | None = None, *,
                 batch_size: int | None = None) -> list[list[Completion]]:
        encoded = self.tokenizer(prompts, add_special_tokens=False)["input_ids"]
        greedy = params.temperature <= 0
        # vLLM refuses n > 1 with greedy sampling: decode once, the copies would be identical.
        per_request = 1 if greedy else n
        inputs = [{"prompt_token_ids": ids} for ids in encoded]
        sampling = [self._vllm_params(params, per_request, i) for i in range(len(prompts))]
        outputs = self.llm.generate(inputs, sampling, use_tqdm=False,
                                    lora_request=self._lora_request(adapter))
        results = []
        for ids, out in zip(encoded, outputs):
            completions = [self._completion(c.token_ids, c.finish_reason, len(ids)) for c in out.outputs]
            results.append(completions * n if greedy else completions)
        return results

    def close(self) -> None:
        """Stop vLLM's engine process now (Solver.close), not whenever the LLM is collected."""
        core = getattr(getattr(self.llm, "llm_engine", None), "engine_core", None)
        if core is not None:
            core.shutdown()

    def before_training(self) -> None:
        """Give the GPU to the trainer: offload vLLM's weights, drop its KV cache (if enabled)."""
        if self.sleep_during_training:
            self.llm.sleep(level=1)

    def after_training(self) -> None:
        if self.sleep_during_training:
            self.llm.wake_up()

    def _vllm_params(self, params: SamplingParams, n: int, index: int):
        from vllm import SamplingParams as VSamplingParams

        # vLLM seeds child sample j of a request with seed + j; spacing prompts n apart keeps every
        # sample's stream distinct while the same seed still repeats the same samples.
        seed = None if params.seed is None else params.seed + index * n
        if params.prompt_seeds is not None:  # a request's stream is its prompt's own
            seed = params.prompt_seeds[index]
        return VSamplingParams(
            n=n, temperature=max(params.temperature, 0.0), top_p=params.top_p,
            max_tokens=params.max_new_tokens, seed=seed, stop_token_ids=list(self.stop_ids),
            detokenize=False)  # decoded here with the arcfarm tokenizer, as HFEngine does

    def _lora_request(self, adapter: AdapterRef | None):
        """One LoRARequest per distinct adapter files; a changed adapter never reuses id or name."""
        if adapter is None:
            return None
        if adapter.path is None:
            raise ValueError(f"adapter {adapter.name!r} v{adapter.version} has no path: the vLLM "
                             "engine loads adapters from the directory LoraTrainer.save writes")
        path = os.path.abspath(adapter.path)
        stat = (Path(path) / ADAPTER_FILE).stat()
        key = (adapter.name, adapter.version, path, stat.st_mtime_ns, stat.st_size)
        if key not in self._requests:
            from vllm.lora.request import LoRARequest

            lora_id = next(self._lora_ids)
            name = f"{adapter.name}-v{adapter.version}"
            if name in self._names:
                name = f"{name}-{lora_id}"
            self._names.add(name)
            self._requests[key] = LoRARequest(name, lora_id, path)
        return self._requests[key]

    def _completion(self, ids, finish_reason: str | None, prompt_tokens: int) -> Completion:
        """vLLM keeps the stop token in `token_ids` (counted, as in HFEngine) and skips it in text."""
        ids = list(ids)
        reason = "stop" if finish_reason == "stop" else "length"
        text = self.tokenizer.decode(ids, skip_special_tokens=True)
        return Completion(text=text, prompt_tokens=prompt_tokens, completion_tokens=len(ids),
                          finish_reason=reason)
