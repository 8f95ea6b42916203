"""The Solver: what one process builds once from a RunConfig to run the loop on many tasks.

    with Solver(load_config("tiny-cpu")) as solver:
        result = solver.solve(task, hooks=LoopHooks(on_epoch=...))

This is the one place that turns a RunConfig into the loop's parts:
- model and tokenizer (`model.load_model`), loaded once; a `base_adapter` merged into its
  weights (`model.merge_base_adapter`), so every task's LoRA trains on top of it;
- the LoRA trainer: `FastLoraTrainer` when the model is on CUDA (chunked loss, no checkpointing
  unless needed, fused AdamW: bench/results/gpu-*), else `LoraTrainer`;
- the sampling engine: `engine: auto` is resolved here and nowhere else (`fast` when the model
  is on CUDA, else `hf`);
- the sandbox pool (`Executor`), started once;
- the LoRA settings of each task's training (`lora_settings`), and from them the LoRA config
  recorded with every saved adapter (`adapter_lora_config`).

`solve` runs the loop (`loop.solve_task`) on one task. A task may bring its own RunConfig as long
as it agrees with the Solver's on what was fixed when the model was wrapped (`compatible`).
"""
from __future__ import annotations

from typing import Any

from arcfarm.arc.tasks import Task
from arcfarm.learn.config import RunConfig
from arcfarm.learn.engines import Engine, make_engine
from arcfarm.learn.fast_train import FastLoraTrainer, apply_train_kernels
from arcfarm.learn.loop import LoopHooks, ResumeState, solve_task
from arcfarm.learn.model import load_model, merge_base_adapter
from arcfarm.learn.model_source import resolve_model_path
from arcfarm.learn.records import TaskResult
from arcfarm.learn.trainer import LoraSettings, LoraTrainer
from arcfarm.sandbox import Executor


def lora_settings(config: RunConfig) -> LoraSettings:
    """The trainer's settings for a run: LoRA structure and training hyperparameters."""
    return LoraSettings(
        rank=config.lora_rank, alpha=config.lora_alpha, dropout=config.lora_dropout,
        use_rslora=config.use_rslora, target_modules=list(config.lora_target_modules),
        learning_rate=config.learning_rate, weight_decay=config.weight_decay,
        batch_tokens=config.train_batch_tokens, max_seq_len=config.max_seq_len,
        epochs=config.train_epochs_per_round,
        gradient_checkpointing=config.gradient_checkpointing,
        continue_optimizer=config.continue_optimizer, warmup_ratio=config.lr_warmup_ratio,
        lr_schedule=config.lr_schedule, examples_per_step=config.train_examples_per_step,
        pad_to_multiple=config.train_pad_to_multiple)


def adapter_lora_config(config: RunConfig) -> dict[str, Any]:
    """The LoRA structure stored with each adapter record, under the RunConfig's key names."""
    s = lora_settings(config)
    return {"lora_rank": s.rank, "lora_alpha": s.alpha, "lora_dropout": s.dropout,
            "use_rslora": s.use_rslora, "lora_target_modules": list(s.target_modules)}


def _structure(config: RunConfig) -> tuple:
    """The config keys fixed when the model is wrapped; runs sharing a Solver must agree on them."""
    return (config.model, config.base_adapter, config.dtype, config.device, config.engine,
            adapter_lora_config(config), config.exec_timeout_s, config.exec_memory_mb,
            config.exec_workers)


def _on_cuda(model) -> bool:
    return next(model.parameters()).device.type == "cuda"


def _make_trainer(config: RunConfig, model, tokenizer) -> LoraTrainer:
    if _on_cuda(model):
        return FastLoraTrainer(model, tokenizer, lora_settings(config))
    return LoraTrainer(model, tokenizer, lora_settings(config))


def _make_engine(config: RunConfig, model, tokenizer, model_path: str) -> Engine:
    kind = config.engine
    if kind == "auto":
        kind = "fast" if _on_cuda(model) else "hf"
    extra: dict[str, Any] = {}
    if kind == "fast" and not config.compile_decode:
        extra = {"compile_step": False}
    if kind == "vllm":  # its own copy of the weights; adapters reach it as files of at most its rank
        extra = {"model_path": model_path, "max_lora_rank": config.lora_rank}
    return make_engine(kind, model, tokenizer, batch_size=config.sample_batch_size, **extra)


class Solver:
    """Model, tokenizer, LoRA trainer, sampling engine and sandbox pool, built once per process."""

    def __init__(self, config: RunConfig):
        self.config = config
        self.structure = _structure(config)
        model_path = resolve_model_path(config.model)
        self.model, self.tokenizer = load_model(model_path, dtype=config.dtype, device=config.device)
        if config.base_adapter is not None:  # before the per-task LoRA wraps the model
            self.model = merge_base_adapter(self.model, config.base_adapter)
        self.trainer = _make_trainer(config, self.model, self.tokenizer)
        # The engine samples through the trainer's peft wrapper: one model, the LoRA in place.
        self.engine = _make_engine(config, self.trainer.model, self.tokenizer, model_path)
        self.executor = Executor(workers=config.exec_workers or None,
                                 timeout_s=config.exec_timeout_s, memory_mb=config.exec_memory_mb)

    def compatible(self, config: RunConfig) -> bool:
        return _structure(config) == self.structure

    def solve(self, task: Task, config: RunConfig | None = None, hooks: LoopHooks | None = None,
              resume: ResumeState | None = None) -> TaskResult:
        config = config or self.config
        if not self.compatible(config):
            raise ValueError("config differs from the Solver's in model, engine, LoRA structure "
                             "or sandbox limits; build a new Solver for it")
        apply_train_kernels(self.trainer, config.train_kernels)
        return solve_task(self, task, config, lora_settings(config), hooks, resume)

    def save_adapter(self, directory: str) -> dict:
        return self.trainer.save(directory)

    def close(self) -> None:
        self.executor.close()
        self.engine.close()

    def __enter__(self) -> "Solver":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
