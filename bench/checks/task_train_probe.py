"""Why does a task's training round (90 examples of ~2,500 tokens) run slower per token than the
training bench's 8k-token steps? One lent-GPU call: the Llama-3.1-8B shape with random weights, a
round of sampling at n=128 first (as in the task section), then the same 90 examples trained three
times: with the sampler's caches held, after `engine.release()`, and once more. Each row records
seconds, steps, real and padded tokens, the checkpointing level the OOM back-off settled on and the
memory reserved before it.
    . bench/checks/device_env.sh; python3 bench/checks/task_train_probe.py $OUT/probe.json
"""
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


def row(name, trainer, examples):
    torch.cuda.synchronize()
    reserved = torch.cuda.memory_reserved() / 2**30
    free = torch.cuda.mem_get_info()[0] / 2**30
    seqs = [s for s in (trainer._tokenize(e, trainer.settings.max_seq_len) for e in examples) if s]
    batches = _pack(seqs, trainer.settings.batch_tokens, 0)
    t0 = time.perf_counter()
    report = trainer.train(examples)
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
    examples = synthetic_examples(tokenizer, rng, shape.examples_per_round, shape.example_prompt,
                                  shape.example_response)
    params = SamplingParams(temperature=1.0, top_p=0.95, max_new_tokens=shape.new_tokens)
    prompts = [_prompt(rng, model.config.vocab_size, shape.prompt_tokens) for _ in range(4)]
    rows = []
    for case in ("warm-up, 6 examples", "sampler caches held", "after engine.release()", "again, no sampling"):
        if case != "again, no sampling":
            engine.generate_ids(prompts, 32, params, None)
        if case == "after engine.release()":
            engine.release()
        rows.append(row(case, trainer, examples[:6] if case.startswith("warm") else examples))
        json.dump({"rows": rows, "max_allocated_gib": round(torch.cuda.max_memory_allocated() / 2**30, 2)},
                  open(path, "w"), indent=1)


if __name__ == "__main__":
    main(sys.argv[1])
