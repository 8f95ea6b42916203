"""A short look at the lent GPU machine before the long runs (not part of the suite):

    python bench/checks/gpu_probe.py OUT_DIR

1. which sandbox layers the machine's kernel gives (strict, else the weak fallback) and how many
   trivial programs/s the executor runs with one slot per core;
2. where one LoRA training step of the Llama-3.1-8B shape spends its time (torch.profiler, top
   CUDA kernels), at 2,500 and 8,192 tokens;
Each part writes its own JSON file under OUT_DIR as soon as it ends.
"""
from __future__ import annotations

import json
import os
import sys
import time
import traceback
from pathlib import Path

OUT = Path(sys.argv[1])
OUT.mkdir(parents=True, exist_ok=True)


def save(name: str, data) -> None:
    (OUT / f"{name}.json").write_text(json.dumps(data, indent=1, default=str))
    print(f"== {name}: {json.dumps(data, default=str)[:1500]}", flush=True)


def sandbox_part() -> None:
    import numpy as np

    from arcfarm.sandbox import Executor, ProgramRun
    res: dict = {"cores": os.cpu_count()}
    for mode in ("strict", "weak"):
        try:
            ex = Executor(workers=os.cpu_count(), sandbox=mode)
        except Exception as exc:  # noqa: BLE001 - we want the reason, whatever it is
            res[mode] = f"refused: {type(exc).__name__}: {exc}"
            continue
        res[mode] = ex.isolation.summary()
        grid = np.arange(9).reshape(3, 3) % 10
        runs = [ProgramRun("def transform(g):\n    return g[::-1]", (grid,))] * 3000
        ex.run(runs[:200])
        t0 = time.perf_counter()
        out = ex.run(runs)
        dt = time.perf_counter() - t0
        res[f"{mode}_trivial_runs_per_s"] = round(len(runs) / dt, 1)
        res[f"{mode}_errors"] = sum(r.error is not None for r in out)
        ex.close()
        break
    save("sandbox", res)


def training_part() -> None:
    import random

    import torch
    from torch.profiler import ProfilerActivity, profile

    from arcfarm.bench.gpu_bench import _batch, bench_tokenizer, build_model, make_trainer
    model = build_model(small=False)
    trainer = make_trainer(model, bench_tokenizer())
    rng = random.Random(0)
    res = {}
    for length in (2500, 8192):
        batch = _batch(rng, model.config.vocab_size, length)
        trainer.reset(seed=0)
        opt = trainer._get_optimizer(trainer.settings)
        trainer.model.train()
        for _ in range(2):
            trainer._step(batch, opt, 1.0)
        torch.cuda.synchronize()
        t0 = time.perf_counter()
        for _ in range(3):
            trainer._step(batch, opt, 1.0)
        torch.cuda.synchronize()
        tok_s = 3 * length / (time.perf_counter() - t0)
        with profile(activities=[ProfilerActivity.CUDA, ProfilerActivity.CPU]) as prof:
            trainer._step(batch, opt, 1.0)
            torch.cuda.synchronize()
        table = prof.key_averages().table(sort_by="cuda_time_total", row_limit=40, max_name_column_width=90)
        (OUT / f"profile_{length}.txt").write_text(table)
        events = prof.key_averages()
        total = sum(e.self_device_time_total for e in events)
        top = sorted(events, key=lambda e: -e.self_device_time_total)[:30]
        res[str(length)] = {"tok_s": round(tok_s, 1), "checkpoint_every": trainer.checkpoint_level,
                            "cuda_ms_total": round(total / 1000, 1),
                            "top": [(e.key[:80], round(e.self_device_time_total / 1000, 2), e.count) for e in top],
                            "peak_gb": round(torch.cuda.max_memory_allocated() / 2**30, 1)}
        save("training", res)


for part in (sandbox_part, training_part):
    try:
        part()
    except Exception:  # noqa: BLE001
        save(part.__name__ + "_error", traceback.format_exc())
