"""Train the toy induction model: a small Llama, from scratch, on synthetic tasks in the BARC format.

    python3 -m arcfarm.toy.train --tasks data/toy/train.jsonl --out models/toy --minutes 10
    arcfarm toy train --tasks data/toy/train.jsonl --out models/toy --minutes 10

Reads top to bottom: setup (tokenizer trained on the corpus, examples = rendered prompt +
response, loss on the response only), train (AdamW, warm-up then cosine decay over the wall-clock
budget, bf16 autocast on CUDA, length-bucketed batches of about `batch_tokens` tokens), save
(`save_pretrained` of model in bf16 + tokenizer with chat template and pad token, loadable by
arcfarm.learn.model.load_model). `--tiny-steps K` trains a tiny model for K steps on the CPU (tests).

`--augment-frames K` first writes every task in up to K frames, drawn as the loop draws its
prompts (identity, then other dihedral transforms with permuted colours 1-9), each with the program
that solves it in that frame (conjugate.py; frames without one are skipped), to TASKS.augK.jsonl
next to the tasks file, and trains on that: augmented prompts are then in the training
distribution. The validation split takes whole tasks (all their frames), so no frame of a
validation task is trained on.

Sequences are right-padded and run without an attention mask: attention is causal, so real tokens
never see the padding after them, and padded positions carry no loss.
"""
from __future__ import annotations

import argparse
import json
import math
import random
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Callable

import numpy as np
import torch
from transformers import LlamaConfig, LlamaForCausalLM

from arcfarm.arc.prompts import SYSTEM_PROMPT, response_text, user_message
from arcfarm.arc.tasks import Task, parse_task
from arcfarm.toy.synth import load_jsonl
from arcfarm.toy.tokenizer import END, EOT, train_tokenizer
from arcfarm.toy.train_setup import encode_pairs, shuffled_groups
from arcfarm.toy.train_setup import whole_task_cut as whole_task_cut_ids


@dataclass(frozen=True)
class ModelSize:
    hidden: int
    layers: int
    heads: int
    kv_heads: int
    head_dim: int
    intermediate: int
    vocab: int


# "toy": ~7M parameters, ~14 MB in bf16. "tiny": for CPU tests.
SIZES = {
    "toy": ModelSize(hidden=256, layers=8, heads=4, kv_heads=4, head_dim=64, intermediate=768, vocab=3072),
    "tiny": ModelSize(hidden=64, layers=2, heads=2, kv_heads=2, head_dim=32, intermediate=128, vocab=1024),
}


@dataclass
class TrainSettings:
    tasks: Path
    out: Path
    minutes: float = 10.0
    tiny_steps: int = 0  # > 0: tiny model, CPU, this many steps (ignores minutes)
    size: str = "toy"
    batch_tokens: int = 65536  # padded tokens per optimizer step
    max_len: int = 2048
    learning_rate: float = 1e-3
    min_lr_ratio: float = 0.1
    warmup_steps: int = 200
    weight_decay: float = 0.1
    val_fraction: float = 0.01
    tokenizer_tasks: int = 5000
    augment_frames: int = 0  # > 0: train on every task in up to this many frames (conjugate.py)
    augment_workers: int = 1  # > 1: also the processes of the setup (train_setup.py)
    deadline_minutes: float = 0.0  # > 0: training ends early enough that the whole run fits in this
    seed: int = 0
    device: str = "auto"
    compile: bool = False
    log_every: int = 50


@dataclass
class Example:
    ids: np.ndarray  # int32 token ids: prompt, response, <|eot_id|>
    n_prompt: int


SAVE_MARGIN_S = 30.0  # validation loss and save_pretrained of the toy model take a few seconds


# -- setup ----------------------------------------------------------------------------------------

def load_tasks(path: Path) -> list[tuple[Task, str]]:
    """(task, program) for every training task of a synth JSONL file."""
    out = []
    for rec in load_jsonl(path):
        if rec.get("split", "train") != "train":
            continue
        task, _ = parse_task(rec["id"], rec)
        out.append((task, rec["code"]))
    if not out:
        raise ValueError(f"{path}: no training tasks")
    return out


def shuffled_by_task(tasks: list[tuple[Task, str]], seed: int) -> list[tuple[Task, str]]:
    """Tasks in a seeded random order, the frames of one task kept together (so the validation
    split, taken from the front, holds whole tasks)."""
    return [tasks[i] for i in shuffled_groups([t.id for t, _ in tasks], seed)]


def whole_task_cut(tasks: list[tuple[Task, str]], n: int) -> int:
    """The smallest index >= n at which a new task (not another frame of the last) begins."""
    return whole_task_cut_ids([t.id for t, _ in tasks], n)


def build_tokenizer(tasks: list[tuple[Task, str]], vocab: int, limit: int):
    header = "system user assistant Cutting Knowledge Date: December 2023\nToday Date: 26 Jul 2024\n\n"
    texts = []
    for task, code in tasks[:limit]:
        texts.append(header + SYSTEM_PROMPT + "\n" + user_message(task))
        texts.append(response_text(code))
    return train_tokenizer(texts, vocab_size=vocab)


def encode(tokenizer, tasks: list[tuple[Task, str]], max_len: int) -> tuple[list[Example], int]:
    """Prompt + response + <|eot_id|> token ids; sequences over max_len are dropped (counted)."""
    kept, too_long = encode_pairs(tokenizer, tasks, max_len)
    return [Example(ids, n) for ids, n in kept], too_long


def make_batches(examples: list[Example], batch_tokens: int, rng: random.Random) -> list[list[Example]]:
    """Length-sorted groups whose padded size (rows x longest) stays within batch_tokens; shuffled."""
    order = sorted(examples, key=lambda e: len(e.ids))
    batches, current = [], []
    for ex in order:
        if current and (len(current) + 1) * len(ex.ids) > batch_tokens:
            batches.append(current)
            current = []
        current.append(ex)
    if current:
        batches.append(current)
    rng.shuffle(batches)
    return batches


def collate(batch: list[Example], pad_id: int, device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
    width = max(len(e.ids) for e in batch)
    ids = torch.full((len(batch), width), pad_id, dtype=torch.long)
    labels = torch.full((len(batch), width), -100, dtype=torch.long)
    for row, e in enumerate(batch):
        ids[row, :len(e.ids)] = torch.from_numpy(e.ids)
        labels[row, e.n_prompt:len(e.ids)] = torch.from_numpy(e.ids[e.n_prompt:])
    return ids.to(device, non_blocking=True), labels.to(device, non_blocking=True)


def model_config(size: ModelSize, tokenizer, max_len: int) -> LlamaConfig:
    return LlamaConfig(
        vocab_size=len(tokenizer), hidden_size=size.hidden, intermediate_size=size.intermediate,
        num_hidden_layers=size.layers, num_attention_heads=size.heads,
        num_key_value_heads=size.kv_heads, head_dim=size.head_dim,
        max_position_embeddings=max(4096, max_len), rope_theta=10000.0, tie_word_embeddings=True,
        bos_token_id=tokenizer.bos_token_id, eos_token_id=_stop_ids(tokenizer),
        pad_token_id=tokenizer.pad_token_id, attn_implementation="sdpa")


def _stop_ids(tokenizer) -> list[int]:
    return [tokenizer.convert_tokens_to_ids(EOT), tokenizer.convert_tokens_to_ids(END)]


def _optimizer(model: torch.nn.Module, s: TrainSettings, device: torch.device) -> torch.optim.AdamW:
    decay = [p for p in model.parameters() if p.dim() >= 2]
    no_decay = [p for p in model.parameters() if p.dim() < 2]
    groups = [{"params": decay, "weight_decay": s.weight_decay}, {"params": no_decay, "weight_decay": 0.0}]
    return torch.optim.AdamW(groups, lr=s.learning_rate, betas=(0.9, 0.95),
                             fused=device.type == "cuda")


def lr_at(s: TrainSettings, step: int, progress: float) -> float:
    """Linear warm-up over steps, then cosine decay to min_lr_ratio over progress in [0, 1]."""
    warm = min(1.0, (step + 1) / max(1, s.warmup_steps))
    cosine = 0.5 * (1 + math.cos(math.pi * min(1.0, progress)))
    return s.learning_rate * warm * (s.min_lr_ratio + (1 - s.min_lr_ratio) * cosine)


# -- train ----------------------------------------------------------------------------------------

def _loss(model, ids: torch.Tensor, labels: torch.Tensor, device: torch.device) -> torch.Tensor:
    with torch.autocast(device.type, dtype=torch.bfloat16, enabled=device.type == "cuda"):
        return model(input_ids=ids, labels=labels).loss


@torch.no_grad()
def evaluate_loss(model, batches: list[list[Example]], pad_id: int, device: torch.device) -> float | None:
    if not batches:
        return None
    model.eval()
    total, count = 0.0, 0
    for batch in batches:
        ids, labels = collate(batch, pad_id, device)
        n = int((labels[:, 1:] != -100).sum())
        total += float(_loss(model, ids, labels, device)) * n
        count += n
    model.train()
    return total / max(count, 1)


def train_loop(model, train_examples: list[Example], s: TrainSettings, pad_id: int,
               device: torch.device, log: Callable[[dict], None],
               budget_s: float | None = None) -> dict[str, Any]:
    rng = random.Random(s.seed)
    step_fn = torch.compile(model) if s.compile else model
    optimizer = _optimizer(model, s, device)
    budget_s = s.minutes * 60 if budget_s is None else budget_s
    started, step, tokens, epoch, loss_ema = time.perf_counter(), 0, 0, 0, None
    model.train()
    while True:
        batches = make_batches(train_examples, s.batch_tokens, rng)
        for i, batch in enumerate(batches):
            elapsed = time.perf_counter() - started
            progress = step / s.tiny_steps if s.tiny_steps else elapsed / budget_s
            if progress >= 1.0:
                return {"steps": step, "epochs": round(epoch + i / len(batches), 3),
                        "tokens": tokens, "train_s": elapsed, "final_loss": loss_ema}
            for group in optimizer.param_groups:
                group["lr"] = lr_at(s, step, progress)
            ids, labels = collate(batch, pad_id, device)
            loss = _loss(step_fn, ids, labels, device)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optimizer.step()
            optimizer.zero_grad(set_to_none=True)
            step += 1
            tokens += ids.numel()
            value = loss.item() if step % s.log_every == 0 or s.tiny_steps else None
            if value is not None:
                elapsed = time.perf_counter() - started
                loss_ema = value if loss_ema is None else 0.9 * loss_ema + 0.1 * value
                log({"step": step, "epoch": epoch, "loss": round(value, 4),
                     "lr": optimizer.param_groups[0]["lr"], "tokens": tokens,
                     "tokens_per_s": round(tokens / max(elapsed, 1e-6)), "elapsed_s": round(elapsed, 1)})
        epoch += 1


# -- save -------------------------------------------------------------------------------------------

def save(model, tokenizer, out: Path) -> int:
    """save_pretrained in bf16 (one safetensors file) + tokenizer; returns the weights' bytes."""
    out.mkdir(parents=True, exist_ok=True)
    model = model.to(torch.bfloat16)
    model.config.use_cache = True
    gen = model.generation_config
    gen.bos_token_id, gen.eos_token_id = tokenizer.bos_token_id, _stop_ids(tokenizer)
    gen.pad_token_id = tokenizer.pad_token_id
    model.save_pretrained(out, safe_serialization=True)
    tokenizer.save_pretrained(out)
    return sum(p.stat().st_size for p in out.glob("*.safetensors"))


def resolve_device(s: TrainSettings) -> torch.device:
    if s.tiny_steps and s.device == "auto":
        return torch.device("cpu")
    if s.device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(s.device)


def training_budget_s(s: TrainSettings, setup_s: float) -> float:
    """`minutes` of training, or less when `deadline_minutes` (counted from the start of train())
    leaves less after the setup and a margin to validate and save (a lent GPU's call that ends
    mid-training keeps nothing)."""
    budget_s = s.minutes * 60
    if s.deadline_minutes:
        budget_s = min(budget_s, s.deadline_minutes * 60 - setup_s - SAVE_MARGIN_S)
        if budget_s <= 0:
            raise RuntimeError(f"setup took {setup_s:.0f} s: no training time is left before the "
                               f"deadline of {s.deadline_minutes} minutes")
    return budget_s


def setup(source: Path, s: TrainSettings, size: ModelSize):
    """(tokenizer, tasks, validation examples, training examples, sequences too long), in
    `augment_workers` processes when more than one (train_setup.py; the same examples)."""
    if s.augment_workers > 1:
        from arcfarm.toy.train_setup import prepare

        out = prepare(source, seed=s.seed, vocab=size.vocab, tokenizer_tasks=s.tokenizer_tasks,
                      val_fraction=s.val_fraction, max_len=s.max_len, workers=s.augment_workers)
        return (out["tokenizer"], out["tasks"], [Example(i, n) for i, n in out["val"]],
                [Example(i, n) for i, n in out["train"]], out["too_long"])
    tasks = shuffled_by_task(load_tasks(source), s.seed)
    tokenizer = build_tokenizer(tasks, size.vocab, s.tokenizer_tasks)
    # Validation: the first whole tasks (every frame of a task on the same side of the cut).
    n_val = whole_task_cut(tasks, int(len(tasks) * s.val_fraction) if len(tasks) >= 100 else 0)
    val, too_long_val = encode(tokenizer, tasks[:n_val], s.max_len)
    train_examples, too_long = encode(tokenizer, tasks[n_val:], s.max_len)
    return tokenizer, len(tasks), val, train_examples, too_long + too_long_val


def train(s: TrainSettings, log: Callable[[dict], None] = lambda rec: None) -> dict[str, Any]:
    """Setup -> train -> save. Returns the summary also written to OUT/train_summary.json."""
    t0 = time.perf_counter()
    torch.manual_seed(s.seed)
    device = resolve_device(s)
    if device.type == "cuda":
        torch.backends.cuda.matmul.allow_tf32 = True
    size = SIZES["tiny" if s.tiny_steps else s.size]
    augmented = None
    source = s.tasks
    if s.augment_frames:
        from arcfarm.toy.conjugate import augment_file

        source = s.tasks.with_name(s.tasks.name.removesuffix(".jsonl") + f".aug{s.augment_frames}.jsonl")
        augmented = augment_file(s.tasks, source, frames=s.augment_frames, seed=s.seed,
                                 workers=s.augment_workers)
        log({"event": "augment", **augmented})
    tokenizer, n_tasks, val, train_examples, too_long = setup(source, s, size)
    model = LlamaForCausalLM(model_config(size, tokenizer, s.max_len)).to(device)
    setup_s = time.perf_counter() - t0
    log({"event": "setup", "tasks": n_tasks, "examples": len(train_examples), "val": len(val),
         "too_long": too_long, "vocab": len(tokenizer), "device": str(device),
         "parameters": sum(p.numel() for p in model.parameters()), "setup_s": round(setup_s, 1)})
    budget_s = training_budget_s(s, time.perf_counter() - t0)
    result = train_loop(model, train_examples, s, tokenizer.pad_token_id, device, log, budget_s)
    val_batches = make_batches(val, s.batch_tokens, random.Random(0))
    val_loss = evaluate_loss(model, val_batches, tokenizer.pad_token_id, device)
    weights_bytes = save(model, tokenizer, s.out)
    summary = {**result, "val_loss": val_loss, "augmented": augmented, "setup_s": setup_s,
               "weights_bytes": weights_bytes, "parameters": sum(p.numel() for p in model.parameters()), "vocab": len(tokenizer),
               "examples": len(train_examples), "too_long": too_long, "device": _device_name(device),
               "size": asdict(size), "settings": {k: str(v) for k, v in asdict(s).items()}}
    (s.out / "train_summary.json").write_text(json.dumps(summary, indent=2))
    return summary


def _device_name(device: torch.device) -> str:
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    return f"cpu ({torch.get_num_threads()} threads)"


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description="Train the toy induction model.")
    ap.add_argument("--tasks", type=Path, required=True)
    ap.add_argument("--out", type=Path, default=Path("models/toy"))
    for f in ("minutes", "tiny_steps", "batch_tokens", "max_len", "learning_rate", "warmup_steps",
              "seed", "device", "size", "tokenizer_tasks", "augment_frames", "augment_workers", "deadline_minutes"):
        default = getattr(TrainSettings, f)
        ap.add_argument("--" + f.replace("_", "-"), type=type(default), default=default)
    ap.add_argument("--compile", action="store_true")
    a = vars(ap.parse_args(argv))
    print(json.dumps(run(TrainSettings(**a)), indent=2))


def run(s: TrainSettings) -> dict[str, Any]:
    """train() with its log written to OUT/train_log.jsonl and echoed to stderr."""
    s.out.mkdir(parents=True, exist_ok=True)
    with (s.out / "train_log.jsonl").open("w") as f:
        def log(rec: dict) -> None:
            line = json.dumps(rec)
            f.write(line + "\n")
            f.flush()
            print(line, file=sys.stderr, flush=True)
        return train(s, log)

if __name__ == "__main__":
    main()
