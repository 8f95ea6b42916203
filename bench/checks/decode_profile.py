"""Where a sampling call's time goes: one `FastEngine.generate_ids` call at n=128 (and n=512) on the
Llama-3.1-8B shape with random bf16 weights (2,000-token prompt, 400 new tokens, temperature 1,
top-p 0.95, the LoRA active), as in `arcfarm bench gpu`'s sampling section, under torch.profiler
after a warm-up call that compiles and captures the graphs. Kernels are grouped by kind (matmuls,
Inductor's fused Triton kernels, the top-p sort, the rest), and the GPU's busy time is set
against the call's wall time, which tells a GPU-bound step from a host-bound one.
    . bench/checks/device_env.sh; python3 bench/checks/decode_profile.py $OUT/decode-profile.json
"""
import json
import random
import re
import sys
import time

import torch
from torch.profiler import ProfilerActivity, profile

from arcfarm.bench.gpu_bench import (
    ADAPTER,
    SMALL,
    Shape,
    _prompt,
    _sync,
    bench_tokenizer,
    build_model,
    make_trainer,
)
from arcfarm.learn.engines.base import SamplingParams
from arcfarm.learn.engines.fast import FastEngine

KINDS = [("matmul", r"nvjet|gemm|cutlass|xmma|cublas"), ("top-p sort", r"sort|radix|scan|cumsum"),
         ("fused (Inductor/Triton)", r"triton"), ("copy", r"copy|memcpy|memset")]


def kind(name: str) -> str:
    return next((k for k, pattern in KINDS if re.search(pattern, name, re.I)), "other")


def profile_call(engine, prompt, n: int, params) -> dict:
    engine.generate_ids([prompt], n, params, ADAPTER)  # compile and capture
    _sync()
    t0 = time.perf_counter()
    out = engine.generate_ids([prompt], n, params, ADAPTER)
    _sync()
    plain_s = time.perf_counter() - t0
    with profile(activities=[ProfilerActivity.CPU, ProfilerActivity.CUDA]) as prof:
        t0 = time.perf_counter()
        engine.generate_ids([prompt], n, params, ADAPTER)
        _sync()
        profiled_s = time.perf_counter() - t0
    events = [e for e in prof.key_averages() if str(e.device_type).endswith("CUDA")]
    busy_us = sum(e.self_device_time_total for e in events)
    by_kind: dict[str, float] = {}
    for e in events:
        by_kind[kind(e.key)] = by_kind.get(kind(e.key), 0.0) + e.self_device_time_total / 1000
    events.sort(key=lambda e: e.self_device_time_total, reverse=True)
    steps = params.max_new_tokens
    tokens = sum(len(r) for r in out[0])
    return {"n": n, "seconds": round(plain_s, 3), "out_tok_s": round(tokens / plain_s, 1),
            "ms_per_step": round(plain_s * 1000 / steps, 2), "profiled_s": round(profiled_s, 3),
            "gpu_busy_ms": round(busy_us / 1000, 1), "gpu_busy_ms_per_step": round(busy_us / 1000 / steps, 2),
            "by_kind_ms": {k: round(v, 1) for k, v in sorted(by_kind.items(), key=lambda kv: -kv[1])},
            "kernels": [{"name": e.key[:120], "ms": round(e.self_device_time_total / 1000, 2),
                         "calls": e.count, "kind": kind(e.key)} for e in events[:20]]}


def main(path: str) -> None:
    small = not torch.cuda.is_available()  # a CPU run only checks that the script works
    shape = SMALL if small else Shape()
    model = build_model(small)
    tokenizer = bench_tokenizer()
    trainer = make_trainer(model, tokenizer)
    params = SamplingParams(temperature=1.0, top_p=0.95, max_new_tokens=shape.new_tokens)
    prompt = _prompt(random.Random(0), model.config.vocab_size, shape.prompt_tokens)
    rows = []
    for n in (8, 16) if small else (128, 512):
        engine = FastEngine(trainer.model, tokenizer, batch_size=n, stop_ids=[])
        rows.append(profile_call(engine, prompt, n, params))
        print(json.dumps(rows[-1])[:1500], flush=True)
        engine.release()
        with open(path, "w") as f:
            json.dump({"rows": rows}, f, indent=1)


if __name__ == "__main__":
    main(sys.argv[1])
