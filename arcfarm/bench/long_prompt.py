"""`gpu_bench` section `long_prompt`: the longest BARC prompt of ARC-AGI-1 (about 8,635 prompt
tokens, 1,024 new) on a card capped at 80 GB, standing in for the H100 80GB most users have.

The process is capped with `torch.cuda.set_per_process_memory_fraction`; then, as the loop does:
sample n=128 with the fresh adapter, give the sampler's caches back, train one round on
examples of that length (max_seq_len 8,192 as configs/barc-search-learn.yaml, so prompts lose
tokens on the left), sample n=128 again with the trained adapter. Peak memory and time per phase;
any out of memory is recorded, not raised.
"""
from __future__ import annotations

import random

import torch


def bench_long_prompt(trainer, tokenizer, log, cap_gib: float = 80.0, examples: int = 90,
                      prompt_tokens: int = 8635, new_tokens: int = 1024, n: int = 128) -> dict:
    from arcfarm.bench.gpu_bench import ADAPTER, _free, _prompt, _timed, synthetic_examples
    from arcfarm.learn.engines.base import SamplingParams
    from arcfarm.learn.engines.fast import FastEngine

    _free()
    total = torch.cuda.get_device_properties(0).total_memory
    torch.cuda.set_per_process_memory_fraction(min(1.0, cap_gib * 2**30 / total))
    result: dict = {"cap_gib": cap_gib, "prompt_tokens": prompt_tokens, "new_tokens": new_tokens, "n": n,
                    "examples": examples, "phases": [], "error": None}
    rng = random.Random(9)
    prompt = _prompt(rng, trainer.model.config.vocab_size, prompt_tokens)
    params = SamplingParams(temperature=1.0, top_p=0.95, max_new_tokens=new_tokens)
    engine = FastEngine(trainer.model, tokenizer, batch_size=n, stop_ids=[])
    trainer.reset(seed=0)

    def phase(name, fn):
        torch.cuda.reset_peak_memory_stats()
        out, secs = _timed(fn)
        row = {"phase": name, "seconds": round(secs, 2),
               "peak_allocated_gib": round(torch.cuda.max_memory_allocated() / 2**30, 2),
               "peak_reserved_gib": round(torch.cuda.max_memory_reserved() / 2**30, 2)}
        result["phases"].append(row)
        log(f"long prompt, {name}: {secs:.1f} s, peak {row['peak_allocated_gib']} GiB allocated")
        return out

    try:
        phase("sample epoch 0", lambda: engine.generate_ids([prompt], n, params, None))
        engine.release()
        texts = synthetic_examples(tokenizer, rng, examples, prompt_tokens, new_tokens // 2)
        report = phase("train one round", lambda: trainer.train(texts))
        result["train_error"], result["train_tokens"] = report.error, report.tokens
        result["checkpoint_every"] = getattr(trainer, "checkpoint_level", None)
        phase("sample epoch 1", lambda: engine.generate_ids([prompt], n, params, ADAPTER))
    except torch.OutOfMemoryError as exc:
        result["error"] = f"OutOfMemoryError: {str(exc)[:300]}"
        log(f"long prompt: {result['error']}")
    finally:
        engine.release()
        torch.cuda.set_per_process_memory_fraction(1.0)
        _free()
    return result
