"""Why does a task's training round run slower per token than the training bench's 8k-token
steps? One lent-GPU call: the Llama-3.1-8B shape with random weights, a sampling call at n=128
before each training round (as in a task), then rounds of 90 examples that tell apart the sampler's
held caches and sequence widths the process has not trained on before (cuDNN's attention builds an
execution plan per new shape), the same with cuDNN's attention switched off, with widths padded
to multiples of 256 (`pad_to_multiple`), and last with Liger's kernels in the fused forward. Each
row records seconds, steps, real and padded tokens, the checkpointing level the OOM back-off
settled on and the memory reserved before it.
    . bench/checks/device_env.sh; python3 bench/checks/task_train_probe.py $OUT/probe.json
The committed result of 2026-12-03 (gpu-2026-12-03-parts/task-train-probe.json) is from the first
version: warm-up, caches held, after release, again; its examples were ~3,160 tokens long.
"""
import dataclasses
import json
import random
import sys
import time

import torch

from arcfarm.bench.gpu_bench import (
    Shape,
    _prompt,
    bench_tokenizer,
    build_model,
    make_trainer,
    synthetic_examples,
)
from arcfarm.learn.engines.base import SamplingParams
from arcfarm.learn.engines.fast import FastEngine
from arcfarm.learn.trainer import _pack


def row(name, trainer, examples, pad_to_multiple=0):
    settings = dataclasses.replace(trainer.settings, pad_to_multiple=pad_to_multiple)
    torch.cuda.synchronize()
    reserved = torch.cuda.memory_reserved() / 2**30
    free = torch.cuda.mem_get_info()[0] / 2**30
    seqs = [s for s in (trainer._tokenize(e, trainer.settings.max_seq_len) for e in examples) if s]
    batches = _pack(seqs, settings.batch_tokens, 0, 0, pad_to_multiple)
    t0 = time.perf_counter()
    report = trainer.train(examples, settings)
    torch.cuda.synchronize()
    secs = time.perf_counter() - t0
    out = {"case": name, "seconds": round(secs, 2), "steps": report.steps, "tokens": report.tokens,
           "padded_tokens": sum(b[0].numel() for b in batches), "rows_per_step": [b[0].shape[0] for b in batches][:6],
           "widths": sorted({b[0].shape[1] for b in batches})[:6], "tok_s": round(report.tokens / secs, 1),
           "checkpoint_level_after": trainer.checkpoint_level, "levels_remembered": dict(trainer._level_for),
           "reserved_before_gib": round(reserved, 2), "free_before_gib": round(free, 2), "error": report.error}
    print(json.dumps(out), flush=True)
    return out


def main(path):
    shape = Shape()
    model = build_model(False)
    tokenizer = bench_tokenizer()
    trainer = make_trainer(model, tokenizer)
    engine = FastEngine(trainer.model, tokenizer, batch_size=shape.max_batch, stop_ids=[])
    rng = random.Random(3)
    params = SamplingParams(temperature=1.0, top_p=0.95, max_new_tokens=shape.new_tokens)
    prompts = [_prompt(rng, model.config.vocab_size, shape.prompt_tokens) for _ in range(4)]

    def spread(low: int, high: int):
        """90 examples with prompts of low..high tokens: as many widths as a real task's."""
        return [synthetic_examples(tokenizer, rng, 1, rng.randint(low, high), shape.example_response)[0]
                for _ in range(shape.examples_per_round)]
    # Disjoint length ranges, so "new widths" are widths no earlier round trained on.
    examples, second, third = spread(1800, 2200), spread(2201, 2600), spread(2601, 3000)
    fourth = spread(3001, 3400)
    cases = [  # (name, examples, release the caches first, cuDNN attention on, pad to a multiple)
        ("warm-up, 6 examples", examples[:6], False, True, 0),
        ("new widths, caches held", examples, False, True, 0),
        ("seen widths, caches held", examples, False, True, 0),
        ("seen widths, caches released", examples, True, True, 0),
        ("new widths, caches released", second, True, True, 0),
        ("new widths, caches held, cuDNN attention off", third, False, False, 0),
        ("seen widths, caches held, cuDNN attention off", third, False, False, 0),
        ("new widths padded to 256, caches held", fourth, False, True, 256),
        ("the same again", fourth, False, True, 256),
        ("seen widths, caches held, liger kernels", examples, False, True, 0),
    ]
    rows = []
    for name, batch, release, cudnn, multiple in cases:
        torch.backends.cuda.enable_cudnn_sdp(cudnn)
        if "liger" in name and (why_not := trainer.use_kernels("liger")):
            print(f"liger: {why_not}", flush=True)
            continue
        engine.generate_ids(prompts, 32, params, None)
        if release:
            engine.release()
        rows.append(row(name, trainer, batch, multiple))
        json.dump({"rows": rows, "max_allocated_gib": round(torch.cuda.max_memory_allocated() / 2**30, 2)},
                  open(path, "w"), indent=1)


if __name__ == "__main__":
    main(sys.argv[1])
