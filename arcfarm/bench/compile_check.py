"""`gpu_bench` section `compile_check`: the compiled decode step over many shapes, as a long run
meets them (prompt lengths, n, max_new_tokens, adapter on and off), on the small committed toy
model (models/toy) with a LoRA on all linear layers. Counts shapes compiled and shapes that fell
back to eager (target: none), within a time budget (the count of calls done says how far it got).
"""
from __future__ import annotations

import random
import time
import warnings

import torch


def compile_check(model_dir: str = "models/toy", budget_s: float = 60.0, max_calls: int = 100, log=print) -> dict:
    from peft import LoraConfig, get_peft_model
    from transformers import LlamaForCausalLM

    from arcfarm.learn.engines.base import AdapterRef, SamplingParams
    from arcfarm.learn.engines.fast import FastEngine
    from arcfarm.learn.fast_train import ALL_LINEAR

    model = LlamaForCausalLM.from_pretrained(model_dir, dtype=torch.bfloat16).to("cuda").eval()
    peft = get_peft_model(model, LoraConfig(r=8, lora_alpha=16, target_modules=list(ALL_LINEAR))).eval()
    with torch.no_grad():
        for name, p in peft.named_parameters():
            if "lora_B" in name:
                p.normal_(0, 0.01)
    eos = model.config.eos_token_id
    stops = list(eos) if isinstance(eos, (list, tuple)) else [eos]
    engine = FastEngine(peft, None, batch_size=128, stop_ids=stops)
    rng = random.Random(11)
    vocab = model.config.vocab_size
    torch._dynamo.utils.counters.clear()
    calls = tokens = 0
    t0 = time.perf_counter()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        while calls < max_calls and time.perf_counter() - t0 < budget_s:
            n = rng.choice([8, 16, 32, 64, 128])
            prompts = [[rng.randrange(10, vocab) for _ in range(rng.randrange(60, 3000))]
                       for _ in range(rng.choice([1, 2, 4]))]
            params = SamplingParams(temperature=rng.choice([0.7, 1.0]), top_p=0.95,
                                    max_new_tokens=rng.choice([128, 256, 512, 1024]))
            adapter = None if rng.random() < 0.3 else AdapterRef("default", calls)
            out = engine.generate_ids(prompts, n, params, adapter)
            tokens += sum(len(r) for rows in out for r in rows)
            calls += 1
    stats = engine.compile_stats()
    result = {"model": model_dir, "calls": calls, "seconds": round(time.perf_counter() - t0, 1),
              "tokens": tokens, "graphs": stats["compiled_shapes"], "fallbacks": stats["fallbacks"],
              "first_error": stats["first_error"],
              "dynamo_unique_graphs": int(torch._dynamo.utils.counters["stats"].get("unique_graphs", 0)),
              "compile_warnings": sum("torch.compile failed" in str(w.message) for w in caught)}
    log(f"compile check: {calls} calls in {result['seconds']} s, {result['graphs']} shapes compiled, "
        f"{result['fallbacks']} fell back, dynamo graphs {result['dynamo_unique_graphs']}")
    engine.release()
    return result
