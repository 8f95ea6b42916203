"""One LoRA for many tasks, trained with trl's SFTTrainer on programs relabeled from the history.

    report = train_on_history(config, examples, "out/adapter", progress=print)

`config` is an ordinary RunConfig: the model, the LoRA structure (rank, alpha, rsLoRA, targets,
dropout) and the training keys (learning_rate, train_epochs_per_round as passes over the data,
train_batch_tokens, max_seq_len, weight_decay, gradient_checkpointing, seed, dtype, device). So
the adapter fits the per-task LoRA of the same config, and a run can start from it
(`base_adapter`). Examples are tokenized exactly as the loop's trainer does
(`trainer.tokenize_example`): the BARC chat prompt, the response, `<|eot_id|>`, loss on the
response only. trl gets them pre-tokenized with their labels, so its own chat handling never
re-renders a prompt. No packing: on the sizes tried (tiny CPU model) it was not measured to pay,
and padding-free packing needs flash attention to keep examples apart.

trl is an optional extra (`pip install -e ".[learn]"`); it is imported when training starts.
"""
from __future__ import annotations

import hashlib
import math
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from arcfarm.learn.config import RunConfig
from arcfarm.learn.trainer import ADAPTER_FILE, TrainExample, end_of_turn_id, tokenize_example

# progress(step, total_steps, loss or None)
Progress = Callable[[int, int, float | None], None]


class HistoryTrainingError(RuntimeError):
    """Nothing to train on, or trl missing: the message says which."""


@dataclass
class HistoryTrainReport:
    examples: int  # examples trained on (after dropping those whose response does not fit)
    skipped: int  # examples dropped: response longer than max_seq_len
    tokens: int  # tokens of one pass over the examples (prompt and response)
    steps: int  # optimizer steps
    loss_curve: list[list[float]] = field(default_factory=list)  # [step, loss] as trl logged it
    final_loss: float | None = None  # training loss over the whole run (trl's train_loss)
    seconds: float = 0.0
    adapter_sha256: str = ""  # of adapter_model.safetensors
    adapter_bytes: int = 0


def _import_trl():
    try:
        import datasets
        import trl
    except ImportError as exc:
        raise HistoryTrainingError(f"learning from history needs trl: pip install -e \".[learn]\" "
                                   f"({exc})") from exc
    return datasets, trl


def _rows(tokenizer, examples: list[TrainExample], limit: int) -> list[dict[str, list[int]]]:
    eot = end_of_turn_id(tokenizer)
    rows = []
    for ex in examples:
        seq = tokenize_example(tokenizer, ex, eot, limit)
        if seq is not None:
            rows.append({"input_ids": seq.input_ids, "labels": seq.labels})
    return rows


def batch_size_for(config: RunConfig, rows: list[dict[str, list[int]]]) -> int:
    """Examples per step: as many of the longest as fit `train_batch_tokens` padded tokens, and
    at most `train_examples_per_step` when that is set (1 = the reference's recipe)."""
    longest = max(len(r["input_ids"]) for r in rows)
    fit = max(1, config.train_batch_tokens // longest)
    return min(fit, config.train_examples_per_step) if config.train_examples_per_step else fit


# The loop's learning-rate schedules under transformers' names (warm-up is a separate ratio).
SCHEDULERS = {"constant": "constant_with_warmup", "linear": "linear", "cosine": "cosine"}


def train_on_history(config: RunConfig, examples: list[TrainExample], out_dir: str | Path,
                     *, model=None, tokenizer=None,
                     progress: Progress | None = None) -> HistoryTrainReport:
    """Train a LoRA on `examples` and save it (peft format) to `out_dir`.

    `model`/`tokenizer`: an already loaded base model (a worker's), else loaded from
    `config.model`. The base model is not changed: trl wraps it with a fresh LoRA, which is
    unloaded again once saved.
    """
    datasets, trl = _import_trl()
    import torch
    from peft import LoraConfig
    from transformers import TrainerCallback
    from transformers.trainer_callback import PrinterCallback, ProgressCallback

    from arcfarm.learn.model import load_model
    from arcfarm.learn.model_source import resolve_model_path
    from arcfarm.learn.solver import lora_settings

    start = time.perf_counter()
    if model is None or tokenizer is None:
        model, tokenizer = load_model(resolve_model_path(config.model), dtype=config.dtype,
                                      device=config.device)
    rows = _rows(tokenizer, examples, config.max_seq_len)
    if not rows:
        raise HistoryTrainingError(f"nothing to train on: {len(examples)} examples given, "
                                   f"none fits max_seq_len={config.max_seq_len}")
    s = lora_settings(config)
    peft_config = LoraConfig(r=s.rank, lora_alpha=s.alpha, lora_dropout=s.dropout,
                             use_rslora=s.use_rslora, target_modules=list(s.target_modules),
                             task_type="CAUSAL_LM")
    batch = batch_size_for(config, rows)
    total_steps = config.train_epochs_per_round * math.ceil(len(rows) / batch)
    curve: list[list[float]] = []

    class _Report(TrainerCallback):
        def on_log(self, args, state, control, logs=None, **kwargs):
            if logs and "loss" in logs:
                curve.append([state.global_step, float(logs["loss"])])
                if progress:
                    progress(state.global_step, total_steps, float(logs["loss"]))

    first = next(model.parameters())
    device, bf16 = first.device, first.device.type == "cuda" and first.dtype == torch.bfloat16
    with tempfile.TemporaryDirectory(prefix="arcfarm-learn-") as scratch:
        args = trl.SFTConfig(
            output_dir=scratch, num_train_epochs=config.train_epochs_per_round,
            per_device_train_batch_size=batch, learning_rate=config.learning_rate,
            weight_decay=config.weight_decay, max_grad_norm=1.0,
            lr_scheduler_type=SCHEDULERS[config.lr_schedule],
            warmup_steps=math.ceil(config.lr_warmup_ratio * total_steps),
            logging_steps=1, save_strategy="no", report_to=[], seed=config.seed,
            data_seed=config.seed, max_length=None, packing=False, bf16=bf16,
            use_cpu=device.type == "cpu", dataloader_num_workers=0, disable_tqdm=True,
            # trl's default is True; ours is the config's (false unless memory needs it). The
            # old name, which transformers 5.17 knows and 5.2x still maps to the new one.
            gradient_checkpointing=config.gradient_checkpointing)
        trainer = trl.SFTTrainer(model=model, args=args, processing_class=tokenizer,
                                 train_dataset=datasets.Dataset.from_list(rows),
                                 peft_config=peft_config, callbacks=[_Report()])
        # Progress goes to `progress` only: the Trainer would print its logs to stdout.
        trainer.remove_callback(PrinterCallback)
        trainer.remove_callback(ProgressCallback)
        result = trainer.train()
        adapter = _save(trainer.model, out_dir)
        trainer.model.unload()  # the base model as it was, for whoever holds it next
    return HistoryTrainReport(
        examples=len(rows), skipped=len(examples) - len(rows),
        tokens=sum(len(r["input_ids"]) for r in rows), steps=int(result.global_step),
        loss_curve=curve, final_loss=float(result.training_loss), seconds=time.perf_counter() - start,
        adapter_sha256=adapter["sha256"], adapter_bytes=adapter["bytes"])


def _save(peft_model, out_dir: str | Path) -> dict:
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    # save_embedding_layers=False: "auto" would look the base model up on the hub.
    peft_model.save_pretrained(str(out), save_embedding_layers=False)
    data = (out / ADAPTER_FILE).read_bytes()
    return {"sha256": hashlib.sha256(data).hexdigest(), "bytes": len(data)}
