"""`arcfarm bench gpu --sections compiled`: FastEngine's decode step eager vs `torch.compile`d.

Both engines capture the same CUDA graphs; the compiled one fuses the layer's small kernels
(RMSNorm, rotary, the softmax merge of the shared-prefix attention, SwiGLU, the LoRA adds) with
Inductor. Measured in one run on one model: tokens/s at each n, the first call (graph capture,
and for the compiled engine its compilation), a short task (sampling + training rounds), and how
far greedy outputs agree (fused bf16 arithmetic rounds differently, so they may drift apart).
"""
from __future__ import annotations

import random
from typing import Callable

from arcfarm.learn.engines.base import SamplingParams
from arcfarm.learn.engines.fast import FastEngine


def bench_compiled(trainer, tokenizer, shape, examples, log,
                   on_update: Callable[[dict], None] = lambda partial: None) -> dict:
    from arcfarm.bench import gpu_bench as gb

    rng = random.Random(5)
    vocab = trainer.model.config.vocab_size
    # On the CPU (the --small smoke run) Inductor's C++ build would dominate: trace only.
    backend = "inductor" if trainer.model.device.type == "cuda" else "aot_eager"
    engines = {"eager": FastEngine(trainer.model, tokenizer, batch_size=shape.max_batch, stop_ids=[],
                                   compile_step=False),
               "compiled": FastEngine(trainer.model, tokenizer, batch_size=shape.max_batch, stop_ids=[],
                                      compile_step=True, compile_backend=backend)}
    params = SamplingParams(temperature=1.0, top_p=0.95, max_new_tokens=shape.new_tokens)
    result: dict = {"backend": backend, "sampling": [], "greedy_first_difference": None, "task": None}
    for n in [n for n in shape.sample_ns if n <= shape.max_batch]:
        prompt = gb._prompt(rng, vocab, shape.prompt_tokens)
        row: dict = {"n": n, "prompt_tokens": shape.prompt_tokens, "new_tokens": shape.new_tokens}
        for name, engine in engines.items():
            _, first = gb._timed(lambda: engine.generate_ids([prompt], n, params, gb.ADAPTER))
            out, secs = gb._timed(lambda: engine.generate_ids([prompt], n, params, gb.ADAPTER))
            tokens = sum(len(r) for r in out[0])
            steps = engine.last_stats["decode_steps"]
            row.update({f"{name}_tok_s": round(tokens / secs, 1), f"{name}_seconds": round(secs, 3),
                        f"{name}_step_ms": round(1000 * (secs - engine.last_stats["prefill_s"]) / steps, 2),
                        f"{name}_first_call_s": round(first, 2)})
        row["speedup"] = round(row["compiled_tok_s"] / row["eager_tok_s"], 3)
        log(f"n={n}: eager {row['eager_tok_s']} tok/s ({row['eager_step_ms']} ms/step), compiled "
            f"{row['compiled_tok_s']} tok/s ({row['compiled_step_ms']} ms/step) -> x{row['speedup']}; "
            f"first calls {row['eager_first_call_s']} / {row['compiled_first_call_s']} s")
        result["sampling"].append(row)
        on_update(result)

    greedy = SamplingParams(temperature=0.0, max_new_tokens=64)
    prompt = gb._prompt(rng, vocab, shape.prompt_tokens)
    a, b = (engines[k].generate_ids([prompt], 4, greedy, gb.ADAPTER)[0] for k in ("eager", "compiled"))
    result["greedy_first_difference"] = [next((i for i, (x, y) in enumerate(zip(ra, rb)) if x != y), None)
                                         for ra, rb in zip(a, b)]
    log(f"greedy, 64 tokens: first differing position per row {result['greedy_first_difference']}")
    on_update(result)

    per = shape.predictions_per_round
    warm = [(per, 0), (per, 2)]
    plan = [(per, 0), (per, min(8, shape.examples_per_round))]
    task = {}
    for name, engine in engines.items():
        gb.run_task(trainer, engine, shape, warm, examples, lambda m: None)  # graphs, compiles
        task[name] = gb.run_task(trainer, engine, shape, plan, examples, log)
    task["ratio"] = round(task["compiled"]["seconds"] / task["eager"]["seconds"], 3)
    result["task"] = task
    on_update(result)
    for engine in engines.values():
        engine.release()
    return result
