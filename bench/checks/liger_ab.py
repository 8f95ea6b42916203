"""Liger's kernels against the torch ops in the fused forward, alternated in one process so drift
and warm-up hit both alike: steps of one sequence (2k, 4k, 8k tokens) and a round of 90 examples of
varied length (2,300-3,000 tokens) as a task trains them, each measured torch, liger, torch, liger.
    . bench/checks/device_env.sh; python3 bench/checks/liger_ab.py $OUT/liger-ab.json
"""
import json
import random
import sys
import time

import torch

from arcfarm.bench.gpu_bench import (
    _batch,
    _trainer_tok_s,
    bench_tokenizer,
    build_model,
    make_trainer,
    synthetic_examples,
)


def round_tok_s(trainer, examples) -> float:
    torch.cuda.synchronize()
    t0 = time.perf_counter()
    report = trainer.train(examples, trainer.settings)
    torch.cuda.synchronize()
    return round(report.tokens / (time.perf_counter() - t0), 1)


def main(path: str) -> None:
    model = build_model(False)
    tokenizer = bench_tokenizer()
    trainer = make_trainer(model, tokenizer)
    rng = random.Random(5)
    rows = []
    examples = [synthetic_examples(tokenizer, rng, 1, rng.randint(1800, 2500), 500)[0]
                for _ in range(90)]
    vocab = model.config.vocab_size
    cases = [(f"one sequence of {n}", lambda n=n: _trainer_tok_s(trainer, _batch(rng, vocab, n), 4))
             for n in (2048, 4096, 8192)]
    round_tok_s(trainer, examples)  # warm-up: the round's widths are new to cuDNN's attention once
    cases.append(("a round of 90 varied examples", lambda: round_tok_s(trainer, examples)))
    for name, measure in cases:
        row = {"case": name, "torch": [], "liger": []}
        for kernels in ("torch", "liger", "torch", "liger"):
            assert trainer.use_kernels(kernels) is None
            row[kernels].append(measure())
        row["ratio_liger_vs_torch"] = round(sum(row["liger"]) / sum(row["torch"]), 3)
        rows.append(row)
        print(json.dumps(row), flush=True)
        with open(path, "w") as f:
            json.dump({"rows": rows}, f, indent=1)


if __name__ == "__main__":
    main(sys.argv[1])
