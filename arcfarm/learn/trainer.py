"""Per-task LoRA fine-tuning in the same process and the same model object the engine samples from.

    trainer = LoraTrainer(model, tokenizer, LoraSettings(rank=32))   # wraps the model with peft once
    engine = HFEngine(trainer.model, tokenizer)                       # samples through the wrapper
    report = trainer.train([TrainExample(prompt, response_text(code)), ...])
    trainer.reset()                                                   # next task: fresh LoRA, same model
    trainer.train(examples, replace(settings, batch_tokens=4096))     # this call's own settings

A plain loop, no HF Trainer: examples are tokenized once (prompt tokens get label -100, the
response and a closing `<|eot_id|>` are learned, so the model learns to stop), packed into batches
of at most `batch_tokens` padded tokens, and AdamW steps over the LoRA weights only.
The LoRA structure (rank, alpha, dropout, rsLoRA, target modules, checkpointing) is fixed when the
trainer wraps the model; the training fields of `LoraSettings` may differ per `train` call (a
task's own config, fewer batch tokens after an out of memory) and never change `trainer.settings`.
A failed call (CUDA out of memory, any RuntimeError in a step) puts back the LoRA weights it started
from and returns a report with `error` set; the caller decides what to do, the worker stays alive.
"""
from __future__ import annotations

import hashlib
import math
import random
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import torch
from peft import LoraConfig, get_peft_model, set_peft_model_state_dict
from peft.tuners.lora import LoraLayer
from safetensors.torch import load_file

from arcfarm.learn.model import token_id

ADAPTER_FILE = "adapter_model.safetensors"


@dataclass
class LoraSettings:
    rank: int = 32
    alpha: float = 64.0
    dropout: float = 0.0
    use_rslora: bool = True  # scale alpha/sqrt(rank): higher ranks still learn
    target_modules: list[str] = field(default_factory=lambda: ["q_proj", "k_proj", "v_proj", "o_proj"])
    learning_rate: float = 1e-4
    weight_decay: float = 0.0
    batch_tokens: int = 8192  # padded tokens per optimizer step
    max_seq_len: int = 8192
    epochs: int = 1
    gradient_checkpointing: bool = False
    continue_optimizer: bool = False  # keep AdamW moments across train() calls (until reset())
    max_grad_norm: float = 1.0  # 0 = no clipping
    warmup_ratio: float = 0.0  # linear warm-up over this share of a call's optimizer steps
    lr_schedule: str = "constant"  # after warm-up: constant, linear or cosine decay to 0
    examples_per_step: int = 0  # at most this many examples per optimizer step; 0 = no limit
    # Each batch's width rounded up to a multiple of this (0 = the longest row): fewer shapes for
    # kernels that plan per shape (cuDNN attention). Pads are never attended to nor learned.
    pad_to_multiple: int = 0


@dataclass(frozen=True)
class TrainExample:
    prompt: str  # the fully rendered chat string, ending with the assistant header
    response: str  # what the model should write, e.g. prompts.response_text(code); no <|eot_id|>


@dataclass
class TrainReport:
    loss: float | None  # token-weighted mean loss of the last epoch; None if nothing was trained
    steps: int  # optimizer steps
    examples: int  # examples used (after skipping those that do not fit max_seq_len)
    tokens: int  # non-pad tokens fed forward, all epochs together
    seconds: float
    error: str | None = None  # set when the call failed and the LoRA weights were put back
    out_of_memory: bool = False  # the failure was (GPU) memory: the loop retries with smaller batches
    learning_rates: list[float] = field(default_factory=list)  # the rate of every optimizer step


@dataclass
class _Sequence:
    input_ids: list[int]
    labels: list[int]


def is_out_of_memory(exc: BaseException) -> bool:
    """CUDA out of memory, including cuBLAS failing to allocate its workspace (which torch raises
    as a plain RuntimeError when the caching allocator holds everything)."""
    return isinstance(exc, torch.OutOfMemoryError) or (
        isinstance(exc, RuntimeError) and "CUBLAS_STATUS_ALLOC_FAILED" in str(exc))


class LoraTrainer:
    """Owns the peft wrapper around the base model and the optimizer over its LoRA weights."""

    fault_hook: Callable[[], None] | None = None  # tests: called before every optimizer step

    def __init__(self, model, tokenizer, settings: LoraSettings):
        self.tokenizer = tokenizer
        self.settings = settings
        self.adapter_name = "default"
        if settings.gradient_checkpointing:
            _enable_checkpointing(model)
        config = LoraConfig(r=settings.rank, lora_alpha=settings.alpha, lora_dropout=settings.dropout,
                            use_rslora=settings.use_rslora, target_modules=list(settings.target_modules),
                            task_type="CAUSAL_LM")
        self.model = get_peft_model(model, config, adapter_name=self.adapter_name)
        self.model.eval()
        self._params = {n: p for n, p in self.model.named_parameters() if p.requires_grad}
        self._optimizer: torch.optim.Optimizer | None = None
        self.eot_id = end_of_turn_id(tokenizer)

    # --- adapter state ---------------------------------------------------------------------------

    def reset(self, seed: int | None = None) -> None:
        """Fresh LoRA in place (A random as peft initialises it, B zero, so the model is the base
        model again) and a fresh optimizer. No reload, no new wrapper."""
        if seed is not None:
            torch.manual_seed(seed)
        for module in self.model.modules():
            if isinstance(module, LoraLayer):
                module.reset_lora_parameters(self.adapter_name, init_lora_weights=True)
        self._optimizer = None

    def lora_state(self) -> dict[str, torch.Tensor]:
        """A copy of the LoRA weights (small: a snapshot costs little)."""
        return {n: p.detach().clone() for n, p in self._params.items()}

    def load_lora_state(self, state: dict[str, torch.Tensor]) -> None:
        with torch.no_grad():
            for name, param in self._params.items():
                param.copy_(state[name])

    def save(self, directory: str | Path) -> dict:
        """Write the adapter with peft; returns {"path", "bytes", "sha256"} of its safetensors file."""
        # save_embedding_layers=False: "auto" would look the base model up on the hub.
        self.model.save_pretrained(str(directory), selected_adapters=[self.adapter_name],
                                   save_embedding_layers=False)
        path = Path(directory) / ADAPTER_FILE
        data = path.read_bytes()
        return {"path": str(path), "bytes": len(data), "sha256": hashlib.sha256(data).hexdigest()}

    def load(self, directory: str | Path) -> None:
        """Load saved adapter weights in place into this wrapper (same rank and targets)."""
        device = next(iter(self._params.values())).device
        state = load_file(str(Path(directory) / ADAPTER_FILE), device=str(device))
        result = set_peft_model_state_dict(self.model, state, adapter_name=self.adapter_name)
        missing = [k for k in result.missing_keys if "lora_" in k]
        if result.unexpected_keys or missing:
            raise ValueError(f"adapter in {directory} does not fit this model: "
                             f"unexpected {result.unexpected_keys[:3]}, missing {missing[:3]}")

    # --- training --------------------------------------------------------------------------------

    def train(self, examples: list[TrainExample], settings: LoraSettings | None = None) -> TrainReport:
        """`epochs` passes over `examples` with the training fields of `settings` (default: the
        trainer's own); on failure the LoRA weights are put back, never raises for RuntimeError
        (CUDA out of memory included)."""
        settings = settings or self.settings
        start = time.perf_counter()
        sequences = [self._tokenize(e, settings.max_seq_len) for e in examples]
        sequences = [s for s in sequences if s is not None]
        if not sequences:
            return TrainReport(None, 0, 0, 0, time.perf_counter() - start)
        backup = self.lora_state()
        batches = _pack(sequences, settings.batch_tokens, self.tokenizer.pad_token_id or 0,
                        settings.examples_per_step, settings.pad_to_multiple)
        error, out_of_memory = None, False
        rates: list[float] = []
        self.model.train()
        try:
            loss, steps, tokens = self._run_epochs(batches, self._get_optimizer(settings), settings, rates)
        except RuntimeError as exc:  # torch.OutOfMemoryError is a RuntimeError
            out_of_memory = is_out_of_memory(exc)
            name = "OutOfMemoryError" if out_of_memory else type(exc).__name__
            error = f"{name}: {str(exc)[:500]}"
        finally:
            self.model.eval()
        if error is not None:
            # Out here the traceback, and the activations its frames hold, are already freed.
            self._recover(backup)
            return TrainReport(None, 0, len(sequences), 0, time.perf_counter() - start, error=error,
                               out_of_memory=out_of_memory)
        return TrainReport(loss, steps, len(sequences), tokens, time.perf_counter() - start,
                           learning_rates=rates)

    def _run_epochs(self, batches: list[tuple[torch.Tensor, ...]], optimizer,
                    settings: LoraSettings, rates: list[float]) -> tuple[float, int, int]:
        steps = tokens = 0
        total = settings.epochs * len(batches)
        warmup = math.ceil(settings.warmup_ratio * total)
        for epoch in range(settings.epochs):
            order = list(range(len(batches)))
            random.Random(epoch).shuffle(order)  # a fixed order per epoch: reruns are repeatable
            loss_sum = label_count = 0.0
            for i in order:
                rate = settings.learning_rate * lr_factor(steps, total, warmup, settings.lr_schedule)
                for group in optimizer.param_groups:
                    group["lr"] = rate
                rates.append(rate)
                loss, n_labels, n_tokens = self._step(batches[i], optimizer, settings.max_grad_norm)
                loss_sum += loss * n_labels
                label_count += n_labels
                tokens += n_tokens
                steps += 1
        return loss_sum / max(label_count, 1), steps, tokens

    def _step(self, batch, optimizer, max_grad_norm: float) -> tuple[float, int, int]:
        input_ids, labels, mask = batch
        out = self.model(input_ids=input_ids.to(self._device()), attention_mask=mask.to(self._device()),
                         labels=labels.to(self._device()), use_cache=False)
        out.loss.backward()
        if max_grad_norm > 0:
            torch.nn.utils.clip_grad_norm_(list(self._params.values()), max_grad_norm)
        if self.fault_hook is not None:
            self.fault_hook()
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        return out.loss.item(), int((labels[:, 1:] != -100).sum()), int(mask.sum())

    def _get_optimizer(self, settings: LoraSettings) -> torch.optim.Optimizer:
        if self._optimizer is None or not settings.continue_optimizer:
            self._optimizer = torch.optim.AdamW(list(self._params.values()), lr=settings.learning_rate,
                                                weight_decay=settings.weight_decay)
        return self._optimizer

    def _recover(self, backup: dict[str, torch.Tensor]) -> None:
        """Back to the weights before the call; the optimizer may hold half an update, drop it."""
        for p in self._params.values():
            p.grad = None
        self._optimizer = None
        if torch.cuda.is_available():
            torch.cuda.empty_cache()
        self.load_lora_state(backup)

    def _device(self) -> torch.device:
        return next(iter(self._params.values())).device

    def _tokenize(self, example: TrainExample, limit: int) -> _Sequence | None:
        return tokenize_example(self.tokenizer, example, self.eot_id, limit)


def end_of_turn_id(tokenizer) -> int:
    """`<|eot_id|>` (what BARC emits after the closing fence), else the tokenizer's eos."""
    eot = token_id(tokenizer, "<|eot_id|>")
    return eot if eot is not None else tokenizer.eos_token_id


def tokenize_example(tokenizer, example: TrainExample, eot_id: int, limit: int) -> _Sequence | None:
    """Prompt tokens (label -100) + response tokens + `eot_id`; the prompt loses tokens on the
    left if the whole does not fit `limit` (max_seq_len); a response that alone does not fit is
    skipped (None). The one token layout of every training example, per task or from history."""
    prompt = tokenizer(example.prompt, add_special_tokens=False)["input_ids"]
    response = tokenizer(example.response, add_special_tokens=False)["input_ids"] + [eot_id]
    if len(response) >= limit:
        warnings.warn(f"skipping a training example: response of {len(response)} tokens "
                      f"does not fit max_seq_len={limit}")
        return None
    prompt = prompt[max(0, len(prompt) + len(response) - limit):]
    return _Sequence(prompt + response, [-100] * len(prompt) + response)


def lr_factor(step: int, total: int, warmup: int, schedule: str) -> float:
    """The multiplier of the learning rate at optimizer step `step` (0-based) of `total`: linear
    warm-up from 1/warmup to 1 over the first `warmup` steps, then constant or decaying to 0."""
    if step < warmup:
        return (step + 1) / warmup
    if schedule == "constant":
        return 1.0
    span = max(total - warmup, 1)
    done = (step - warmup) / span  # 0 at the first step after warm-up
    if schedule == "linear":
        return 1.0 - done
    if schedule == "cosine":
        return 0.5 * (1.0 + math.cos(math.pi * done))
    raise ValueError(f"lr_schedule: expected constant, linear or cosine, got {schedule!r}")


def _enable_checkpointing(model) -> None:
    """Recompute activations in backward; newer transformers renamed the method."""
    kwargs = {"use_reentrant": False}  # reentrant checkpointing needs inputs that require grad
    if hasattr(model, "activation_checkpointing_enable"):
        model.activation_checkpointing_enable(activation_checkpointing_kwargs=kwargs)
    else:
        model.gradient_checkpointing_enable(gradient_checkpointing_kwargs=kwargs)


def _pack(sequences: list[_Sequence], batch_tokens: int, pad_id: int,
          max_rows: int = 0, multiple: int = 0) -> list[tuple[torch.Tensor, ...]]:
    """Group sequences of similar length so that rows x padded width <= batch_tokens (a longer
    sequence gets a batch of its own) and rows <= max_rows (0: no limit); right padding to the
    longest row, rounded up to a multiple of `multiple` (0: not rounded), pad labels -100,
    attention mask 0."""
    ordered = sorted(sequences, key=lambda s: len(s.input_ids), reverse=True)
    groups: list[list[_Sequence]] = []
    for seq in ordered:
        # Sorted longest first, so the group's first row sets its padded width.
        if groups and (len(groups[-1]) + 1) * _round_up(len(groups[-1][0].input_ids), multiple) <= batch_tokens \
                and (max_rows <= 0 or len(groups[-1]) < max_rows):
            groups[-1].append(seq)
        else:
            groups.append([seq])
    return [_collate(g, pad_id, multiple) for g in groups]


def _round_up(width: int, multiple: int) -> int:
    return -(-width // multiple) * multiple if multiple > 0 else width


def _collate(group: list[_Sequence], pad_id: int,
             multiple: int = 0) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    width = _round_up(max(len(s.input_ids) for s in group), multiple)
    # Pad positions are masked out of attention and loss, so the pad id itself never matters.
    ids = torch.full((len(group), width), pad_id, dtype=torch.long)
    labels = torch.full((len(group), width), -100, dtype=torch.long)
    mask = torch.zeros(len(group), width, dtype=torch.long)
    for row, seq in enumerate(group):
        n = len(seq.input_ids)
        ids[row, :n] = torch.tensor(seq.input_ids)
        labels[row, :n] = torch.tensor(seq.labels)
        mask[row, :n] = 1
    return ids, labels, mask
