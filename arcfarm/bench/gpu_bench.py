"""`arcfarm bench gpu`: our sampler and trainer against the naive baselines, in one run.

    arcfarm bench gpu --json                 # the Llama-3.1-8B architecture, random bf16 weights, CUDA
    arcfarm bench gpu --small --json         # the same code on a small random model (CPU is fine)
    arcfarm bench gpu --sections task,rounds --update   # run some sections, merge into the file

Random weights: nothing is downloaded; no sampled program is valid, so the task sections feed the
trainer synthetic examples of the real shape (a ~2,000-token prompt and a ~500-token response), and
sampling never stops early (no stop token), which is the worst case for the sampler.
Sections: sampling (FastEngine vs `model.generate(num_return_sequences=n)`), training
(FastLoraTrainer vs a plain peft loop with gradient checkpointing, batch 1, and vs trl's
SFTTrainer rebuilt every round: arcfarm.bench.trl_baseline), overhead (per-epoch
fixed cost), task (128 + 3x128 predictions with 3 rounds of training on 90 examples), rounds
(8 rounds vs 2 at equal predictions and training examples), compiled (the decode step eager vs
torch.compile'd, arcfarm.bench.compile_bench), numerics and profile (the fused LoRA training path
against peft's layers, and where a step's GPU time goes: arcfarm.bench.train_profile),
compile_check (the compiled decode step over many shapes on the toy model:
arcfarm.bench.compile_check), long_prompt (8,635 + 1,024 tokens at n=128 and a round of training
under an 80 GB cap: arcfarm.bench.long_prompt).

    python -m arcfarm.bench.gpu_bench --sections compiled --out F   # the same without the CLI's
                                                                     # packages (GPU machines)
"""
from __future__ import annotations

import gc
import json
import math
import random
import re
import time
from dataclasses import dataclass
from pathlib import Path

import torch

from arcfarm.bench.machine import git_commit, today
from arcfarm.learn.engines.base import AdapterRef, SamplingParams
from arcfarm.learn.engines.fast import FastEngine
from arcfarm.learn.fast_train import ALL_LINEAR, FastLoraTrainer, apply_train_kernels
from arcfarm.learn.trainer import LoraSettings, TrainExample, _pack

DATE = "2026-11-26"  # the result file's series name; each result records its own date
ADAPTER = AdapterRef("default", 0)  # the LoRA (r=32, all linear layers) is active while sampling
SECTIONS = ("sampling", "training", "overhead", "task", "rounds", "compiled", "numerics", "profile",
            "compile_check", "long_prompt")
TRL_NOTE = "not run: the training section ran without the trl baseline"


@dataclass
class Shape:
    """Workload sizes; `small` shrinks everything so the CPU can run it in seconds."""
    prompt_tokens: int = 2000
    new_tokens: int = 400
    sample_ns: tuple[int, ...] = (8, 32, 128, 512)
    train_lens: tuple[int, ...] = (2048, 4096, 8192)
    train_steps: int = 4
    example_prompt: int = 2000
    example_response: int = 500
    examples_per_round: int = 90
    prompts_per_round: int = 4  # a task's predictions come from a few (augmented) prompts
    max_batch: int = 128
    predictions_per_round: int = 128


SMALL = Shape(prompt_tokens=64, new_tokens=16, sample_ns=(2, 4), train_lens=(64, 128), train_steps=2,
              example_prompt=48, example_response=16, examples_per_round=6, prompts_per_round=2,
              max_batch=8, predictions_per_round=4)


def llama8b_config():
    from transformers import LlamaConfig
    return LlamaConfig(hidden_size=4096, intermediate_size=14336, num_hidden_layers=32,
                       num_attention_heads=32, num_key_value_heads=8, vocab_size=128256,
                       max_position_embeddings=131072, rms_norm_eps=1e-5, rope_theta=500000.0,
                       rope_scaling={"rope_type": "llama3", "factor": 8.0, "low_freq_factor": 1.0,
                                     "high_freq_factor": 4.0, "original_max_position_embeddings": 8192},
                       tie_word_embeddings=False, bos_token_id=128000, eos_token_id=128009)


def small_config():
    from transformers import LlamaConfig
    return LlamaConfig(hidden_size=128, intermediate_size=256, num_hidden_layers=2, num_attention_heads=4,
                       num_key_value_heads=2, vocab_size=1200, max_position_embeddings=4096,
                       rope_theta=500000.0, tie_word_embeddings=False)


def build_model(small: bool):
    """Random weights made directly on the device in the working dtype (no CPU init, no download)."""
    from transformers import LlamaForCausalLM
    cuda = torch.cuda.is_available()
    device = torch.device("cuda" if cuda else "cpu")
    dtype = torch.bfloat16 if cuda else torch.float32
    config = small_config() if small else llama8b_config()
    previous = torch.get_default_dtype()
    torch.set_default_dtype(dtype)
    try:
        with device:
            model = LlamaForCausalLM(config)
    finally:
        torch.set_default_dtype(previous)
    model.generation_config.eos_token_id = None
    model.generation_config.pad_token_id = 0
    return model.eval()


def _sync() -> None:
    if torch.cuda.is_available():
        torch.cuda.synchronize()


def _free() -> None:
    gc.collect()
    if torch.cuda.is_available():
        torch.cuda.empty_cache()


def _timed(fn):
    _sync()
    t0 = time.perf_counter()
    out = fn()
    _sync()
    return out, time.perf_counter() - t0


def _prompt(rng: random.Random, vocab: int, length: int) -> list[int]:
    return [rng.randrange(1000, vocab) for _ in range(length)]


# --- sampling ------------------------------------------------------------------------------------

def bench_sampling(model, engine: FastEngine, shape: Shape, log) -> list[dict]:
    rng = random.Random(0)
    vocab = model.config.vocab_size
    params = SamplingParams(temperature=1.0, top_p=0.95, max_new_tokens=shape.new_tokens)
    rows = []
    baseline_oom = False
    for n in shape.sample_ns:
        prompt = _prompt(rng, vocab, shape.prompt_tokens)
        _, capture_s = _timed(lambda: engine.generate_ids([prompt], n, params, ADAPTER))  # graphs
        out, secs = _timed(lambda: engine.generate_ids([prompt], n, params, ADAPTER))
        tokens = sum(len(r) for r in out[0])
        row = {"n": n, "prompt_tokens": shape.prompt_tokens, "new_tokens": shape.new_tokens,
               "out_tok_s": round(tokens / secs, 1), "seconds": round(secs, 3),
               "first_call_s": round(capture_s, 3), "prefill_s": round(engine.last_stats["prefill_s"], 3),
               "baseline_out_tok_s": None, "baseline_seconds": None, "baseline_note": None}
        log(f"sampling n={n}: ours {row['out_tok_s']} tok/s ({secs:.2f} s, first call {capture_s:.2f} s)")
        if baseline_oom or (n > 128 and not _small(model)):
            row["baseline_note"] = "not run: out of memory at a smaller n" if baseline_oom else \
                "not run: n copies of the prompt KV would not fit next to the model"
        else:
            engine.release()
            try:
                b_tokens, b_secs = _baseline_generate(model, prompt, n, params)
                row["baseline_out_tok_s"] = round(b_tokens / b_secs, 1)
                row["baseline_seconds"] = round(b_secs, 3)
                row["speedup"] = round(row["out_tok_s"] / row["baseline_out_tok_s"], 2)
                log(f"  baseline {row['baseline_out_tok_s']} tok/s ({b_secs:.2f} s) -> x{row['speedup']}")
            except torch.OutOfMemoryError:
                baseline_oom = True
                row["baseline_note"] = "CUDA out of memory"
                log("  baseline: CUDA out of memory")
            _free()
        rows.append(row)
    return rows


def _small(model) -> bool:
    return model.config.hidden_size < 1024


def _baseline_generate(model, prompt: list[int], n: int, params: SamplingParams) -> tuple[int, float]:
    ids = torch.tensor([prompt], device=model.device)
    kwargs = dict(do_sample=True, temperature=params.temperature, top_p=params.top_p, top_k=0,
                  pad_token_id=0)
    with torch.no_grad():
        model.generate(input_ids=ids, attention_mask=torch.ones_like(ids), num_return_sequences=1,
                       max_new_tokens=2, **kwargs)
        out, secs = _timed(lambda: model.generate(
            input_ids=ids, attention_mask=torch.ones_like(ids), num_return_sequences=n,
            max_new_tokens=params.max_new_tokens, **kwargs))
    return out.shape[0] * (out.shape[1] - len(prompt)), secs


# --- training ------------------------------------------------------------------------------------

def make_trainer(model, tokenizer) -> FastLoraTrainer:
    settings = LoraSettings(rank=32, alpha=64.0, target_modules=list(ALL_LINEAR), learning_rate=1e-4,
                            batch_tokens=8192, max_seq_len=8192)
    return FastLoraTrainer(model, tokenizer, settings)


def _batch(rng: random.Random, vocab: int, length: int, response: float = 0.25):
    ids = torch.tensor([_prompt(rng, vocab, length)])
    labels = ids.clone()
    labels[:, : int(length * (1 - response))] = -100
    return ids, labels, torch.ones_like(ids)


def bench_training(trainer: FastLoraTrainer, shape: Shape, log,
                   trl_rows: dict[int, dict] | None = None) -> list[dict]:
    rng = random.Random(1)
    vocab = trainer.model.config.vocab_size
    rows = []
    for length in shape.train_lens:
        batch = _batch(rng, vocab, length)
        row = {"seq_len": length, "tok_s": None, "unfused_tok_s": None, "baseline_tok_s": None,
               "trl_tok_s": None, "trl_note": TRL_NOTE, **(trl_rows or {}).get(length, {})}
        for key, fused in (("tok_s", True), ("unfused_tok_s", False)):
            trainer.fused = fused  # False: peft's layers, float32 LoRA (the trainer before issue 17)
            try:
                row[key] = _trainer_tok_s(trainer, batch, shape.train_steps)
                row["checkpoint_every" if fused else "unfused_checkpoint_every"] = trainer.checkpoint_level
            except torch.OutOfMemoryError:
                row["note" if fused else "unfused_note"] = "CUDA out of memory"
            trainer.fused = True
            _free()
        row.update(_liger_tok_s(trainer, batch, shape.train_steps))
        try:
            row["baseline_tok_s"] = round(_baseline_train(trainer, batch, shape.train_steps), 1)
        except torch.OutOfMemoryError:
            row["baseline_note"] = "CUDA out of memory"
        trainer.model.eval()
        _free()
        if row["tok_s"] and row["baseline_tok_s"]:
            row["speedup"] = round(row["tok_s"] / row["baseline_tok_s"], 2)
        if row["tok_s"] and row["trl_tok_s"]:
            row["speedup_vs_trl"] = round(row["tok_s"] / row["trl_tok_s"], 2)
        log(f"training {length} tokens: ours {row['tok_s']} tok/s, liger {row['liger_tok_s']}, "
            f"unfused {row['unfused_tok_s']}, "
            f"baseline {row['baseline_tok_s']} tok/s")
        rows.append(row)
    return rows


def kernels_in_use(trainer: FastLoraTrainer, kernels: str) -> str:
    """What a result file records: 'torch', 'liger', or 'liger for steps of >= N tokens'."""
    floor = trainer.kernels_min_tokens
    return f"{kernels} for steps of >= {floor} tokens" if kernels != "torch" and floor else kernels


def _liger_tok_s(trainer: FastLoraTrainer, batch, steps: int) -> dict:
    """The fused forward with Liger's RMSNorm, RoPE and SiLU x up kernels (liger_ops.py)."""
    before = (trainer.kernels, trainer.kernels_min_tokens)
    why_not = trainer.use_kernels("liger")
    if why_not:
        return {"liger_tok_s": None, "liger_note": why_not}
    try:
        return {"liger_tok_s": _trainer_tok_s(trainer, batch, steps)}
    except torch.OutOfMemoryError:
        return {"liger_tok_s": None, "liger_note": "CUDA out of memory"}
    except Exception as exc:  # noqa: BLE001 - a kernel library's failure is a note, not a lost bench
        return {"liger_tok_s": None, "liger_note": f"{type(exc).__name__}: {str(exc)[:300]}"}
    finally:
        trainer.use_kernels(*before)
        _free()


def _trainer_tok_s(trainer: FastLoraTrainer, batch, steps: int) -> float:
    trainer.reset(seed=0)
    optimizer = trainer._get_optimizer(trainer.settings)
    clip = trainer.settings.max_grad_norm
    trainer.model.train()
    try:
        trainer._step(batch, optimizer, clip)  # warm-up, also finds the checkpointing level
        _, secs = _timed(lambda: [trainer._step(batch, optimizer, clip) for _ in range(steps)])
    finally:
        trainer.model.eval()
    return round(batch[0].numel() * steps / secs, 1)


def _baseline_train(trainer: FastLoraTrainer, batch, steps: int) -> float:
    """The naive loop: peft LoRA, gradient checkpointing on every layer, HF loss over full logits,
    attention mask passed, plain AdamW (its default implementation)."""
    model = trainer.model
    params = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(params, lr=1e-4)
    trainer._set_checkpointing(1)
    device = next(iter(params)).device
    ids, labels, mask = (t.to(device) for t in batch)

    def step():
        loss = model(input_ids=ids, attention_mask=mask, labels=labels, use_cache=False).loss
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)

    model.train()
    try:
        step()
        _, secs = _timed(lambda: [step() for _ in range(steps)])
    finally:
        trainer._set_checkpointing(0)
        optimizer.state.clear()  # its GPU memory goes now, even while a traceback holds the frame
    return ids.shape[1] * steps / secs


# --- per-epoch overhead, whole task, rounds -----------------------------------------------------------

def synthetic_examples(tokenizer, rng: random.Random, count: int, prompt_len: int, response_len: int):
    """Texts that tokenize to about the given lengths (random tokens of the tokenizer, decoded)."""
    vocab = [i for i in range(len(tokenizer)) if i not in set(tokenizer.all_special_ids)]

    def text(length):
        # Decoded random tokens encode again into ~27% more (their bytes regroup): 2,000 + 500
        # gave ~3,160-token examples until 2026-12-03. Cutting the re-encoding at `length` and
        # decoding that keeps the length within a few tokens.
        loose = tokenizer.decode([rng.choice(vocab) for _ in range(length)])
        return tokenizer.decode(tokenizer.encode(loose, add_special_tokens=False)[:length])
    return [TrainExample(text(prompt_len), text(response_len)) for _ in range(count)]


def bench_overhead(trainer, engine: FastEngine, examples, log) -> dict:
    """reset + tokenise/pack the examples + optimizer set-up + handing the adapter to the sampler."""
    times = []
    for version in range(3):
        _sync()
        t0 = time.perf_counter()
        trainer.reset()
        sequences = [trainer._tokenize(e, trainer.settings.max_seq_len) for e in examples]
        _pack([s for s in sequences if s], trainer.settings.batch_tokens, trainer.tokenizer.pad_token_id or 0)
        trainer._get_optimizer(trainer.settings)
        engine._layers(AdapterRef("default", version))
        _sync()
        times.append(time.perf_counter() - t0)
    log(f"per-epoch overhead: {min(times):.3f} s (runs: {[round(t, 3) for t in times]})")
    return {"epoch_overhead_s": round(min(times), 4), "epoch_overhead_runs_s": [round(t, 4) for t in times]}


def run_task(trainer, engine: FastEngine, shape: Shape, rounds: list[tuple[int, int]], examples, log) -> dict:
    """rounds: (predictions, training examples before sampling them); returns the wall time."""
    rng = random.Random(2)
    vocab = trainer.model.config.vocab_size
    params = SamplingParams(temperature=1.0, top_p=0.95, max_new_tokens=shape.new_tokens)
    trainer.reset(seed=0)
    sample_s = train_s = 0.0
    predictions = trained = 0
    adapter = None
    t0 = time.perf_counter()
    for r, (preds, n_examples) in enumerate(rounds):
        if n_examples:
            report, secs = _timed(lambda: trainer.train(examples[trained % len(examples):][:n_examples]))
            if report.error:
                raise RuntimeError(report.error)
            train_s += secs
            trained += n_examples
            adapter = AdapterRef("default", r)
        per = math.ceil(preds / shape.prompts_per_round)
        prompts = [_prompt(rng, vocab, shape.prompt_tokens) for _ in range(shape.prompts_per_round)]
        out, secs = _timed(lambda: engine.generate_ids(prompts, per, params, adapter))
        sample_s += secs
        predictions += sum(len(rows) for rows in out)
    total = time.perf_counter() - t0
    log(f"task {len(rounds)} rounds: {total:.1f} s (sampling {sample_s:.1f}, training {train_s:.1f}), "
        f"{predictions} predictions, {trained} examples")
    return {"seconds": round(total, 2), "sample_s": round(sample_s, 2), "train_s": round(train_s, 2),
            "predictions": predictions, "examples": trained}


def _split(total: int, parts: int) -> list[int]:
    return [total // parts + (1 if i < total % parts else 0) for i in range(parts)]


def rounds_plans(shape: Shape) -> tuple[list, list]:
    """Equal totals: 512 predictions and 2x`examples_per_round` examples, in 2 or in 8 rounds."""
    preds, examples = 4 * shape.predictions_per_round, 2 * shape.examples_per_round
    two = list(zip(_split(preds, 2), _split(examples, 2)))
    eight = list(zip(_split(preds, 8), _split(examples, 8)))
    return two, eight


# --- driver --------------------------------------------------------------------------------------

def device_info() -> dict:
    import peft
    import transformers
    name = torch.cuda.get_device_name(0) if torch.cuda.is_available() else "cpu"
    return {"device": name, "torch": torch.__version__, "transformers": transformers.__version__,
            "peft": peft.__version__, "git_commit": git_commit(), "date": today()}


def slug(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")


def default_out(info: dict) -> Path:
    return Path("bench/results") / f"gpu-{slug(info['device'])}-{DATE}.json"


def bench_tokenizer():
    from arcfarm.learn.model import setup_tokenizer
    from arcfarm.learn.tiny_model import build_tokenizer
    return setup_tokenizer(build_tokenizer())


def run(small: bool = False, sections: tuple[str, ...] = SECTIONS, log=print,
        on_update=lambda partial: None, compile_check_s: float = 60.0, long_examples: int = 90) -> dict:
    """Every requested section on one model; missing sections are null in the result.
    `on_update` gets the result so far while a long section runs (a device call may end mid-run)."""
    shape = SMALL if small else Shape()
    result = {**device_info(), "model": "small random Llama" if small else "Llama-3.1-8B architecture, random bf16",
              "shape": vars(shape), "sampling": None, "training": None, "epoch_overhead_s": None,
              "task_s_128x4": None, "ratio_8_rounds_vs_2": None}
    model, secs = _timed(lambda: build_model(small))
    log(f"model built in {secs:.1f} s on {result['device']}")
    tokenizer = bench_tokenizer()
    trl_rows: dict[int, dict] = {}
    if "training" in sections:  # on the bare model, before our trainer wraps it in its LoRA
        from arcfarm.bench.trl_baseline import trl_training
        trl_rows = trl_training(model, tokenizer, lengths=shape.train_lens, steps=shape.train_steps, log=log)
    trainer = make_trainer(model, tokenizer)
    engine = FastEngine(trainer.model, tokenizer, batch_size=shape.max_batch, stop_ids=[])
    if "sampling" in sections:
        big = FastEngine(trainer.model, tokenizer, batch_size=max(shape.sample_ns), stop_ids=[])
        result["sampling"] = bench_sampling(trainer.model, big, shape, log)
        big.release()
        del big
        _free()
    if "training" in sections:
        result["training"] = bench_training(trainer, shape, log, trl_rows)
        on_update(result)
    # The later sections train as a run does by default (RunConfig's train_kernels, auto).
    result["train_kernels"] = kernels_in_use(trainer, apply_train_kernels(trainer, "auto"))
    rng = random.Random(3)
    examples = synthetic_examples(tokenizer, rng, 2 * shape.examples_per_round, shape.example_prompt,
                                  shape.example_response)
    if "overhead" in sections:
        result.update(bench_overhead(trainer, engine, examples[:shape.examples_per_round], log))
    if "task" in sections:
        per = shape.predictions_per_round
        plan = [(per, 0)] + [(per, shape.examples_per_round)] * 3
        warm = [(per, 0), (per, max(1, shape.examples_per_round // 15))]
        run_task(trainer, engine, shape, warm, examples, log)  # warm-up: graphs, checkpointing level
        task = run_task(trainer, engine, shape, plan, examples, log)
        result["task_s_128x4"] = task["seconds"]
        result["task"] = task
        result["task_compile"] = engine.compile_stats()
        on_update(result)
    if "rounds" in sections:
        two, eight = rounds_plans(shape)
        r2 = run_task(trainer, engine, shape, two, examples, log)
        r8 = run_task(trainer, engine, shape, eight, examples, log)
        result["rounds"] = {"two": r2, "eight": r8}
        result["ratio_8_rounds_vs_2"] = round(r8["seconds"] / r2["seconds"], 3)
    if "compiled" in sections:
        from arcfarm.bench.compile_bench import bench_compiled
        result["compiled"] = bench_compiled(trainer, tokenizer, shape, examples, log,
                                            on_update=lambda part: on_update({**result, "compiled": part}))
    if "numerics" in sections:
        from arcfarm.bench.train_profile import check_numerics
        result["numerics"] = check_numerics(trainer, shape.train_lens[0], log)
        on_update(result)
    if "profile" in sections:
        from arcfarm.bench.train_profile import profile_step
        result["profile"] = profile_step(trainer, shape.train_lens[-1], log)
        on_update(result)
    if "compile_check" in sections and torch.cuda.is_available():
        from arcfarm.bench.compile_check import compile_check
        check = compile_check(budget_s=compile_check_s, log=log)
        result["compile_check"] = check
        result["compile"] = {"graphs": check["graphs"], "fallbacks": check["fallbacks"]}
    if "long_prompt" in sections and torch.cuda.is_available():
        from arcfarm.bench.long_prompt import bench_long_prompt
        engine.release()  # the task's caches and graphs: the capped phase starts from the model alone
        result["long_prompt_80gb"] = bench_long_prompt(trainer, tokenizer, log, examples=long_examples)
        on_update(result)
    if torch.cuda.is_available():
        result["max_memory_allocated_gib"] = round(torch.cuda.max_memory_allocated() / 2**30, 2)
    return result


def merge(old: dict, new: dict, sections: tuple[str, ...]) -> dict:
    """Keep the sections of `old` that this run did not measure."""
    keys = {"sampling": ["sampling"], "training": ["training"],
            "overhead": ["epoch_overhead_s", "epoch_overhead_runs_s"],
            "task": ["task_s_128x4", "task"], "rounds": ["ratio_8_rounds_vs_2", "rounds"],
            "compiled": ["compiled"], "numerics": ["numerics"], "profile": ["profile"],
            "compile_check": ["compile_check", "compile"], "long_prompt": ["long_prompt_80gb"]}
    merged = dict(old)
    merged.update({k: v for k, v in new.items() if not any(k in ks for ks in keys.values())})
    for section in sections:
        for k in keys[section]:
            merged[k] = new.get(k)
    return merged


def write(result: dict, out: Path | None, update: bool, sections) -> Path:
    out = out or default_out(result)
    if update and out.exists():
        result = merge(json.loads(out.read_text()), result, tuple(sections))
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")
    return out


def main(argv: list[str] | None = None) -> None:
    import argparse
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sections", default=",".join(SECTIONS))
    ap.add_argument("--small", action="store_true")
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--compile-check-s", type=float, default=60.0, help="time budget of compile_check")
    ap.add_argument("--long-examples", type=int, default=90, help="training examples in long_prompt")
    a = ap.parse_args(argv)
    chosen = tuple(s.strip() for s in a.sections.split(",") if s.strip())
    if unknown := [s for s in chosen if s not in SECTIONS]:
        ap.error(f"unknown sections {unknown}; choose from {', '.join(SECTIONS)}")

    def save(partial: dict) -> None:
        a.out.write_text(json.dumps(partial, indent=2) + "\n")
    result = run(a.small, chosen, log=lambda m: print(m, flush=True), on_update=save,
                 compile_check_s=a.compile_check_s, long_examples=a.long_examples)
    save(result)


if __name__ == "__main__":
    main()
