"""The trl baseline of `arcfarm bench gpu` (issue 17, item 4) on a small random model on the CPU:
it measures, and it hands the model back bare (no LoRA layers, no checkpointing, same outputs),
because our trainer wraps the same model next."""
from __future__ import annotations

import torch

from arcfarm.bench.gpu_bench import bench_tokenizer, build_model
from arcfarm.bench.trl_baseline import trl_training


def test_trl_baseline_measures_and_leaves_the_model_as_it_was():
    torch.manual_seed(0)
    model, tokenizer = build_model(small=True), bench_tokenizer()
    ids = torch.randint(3, model.config.vocab_size, (1, 24))
    with torch.no_grad():
        before = model(input_ids=ids).logits
    rows = trl_training(model, tokenizer, lengths=(32, 48), steps=2, log=lambda m: None)
    assert set(rows) == {32, 48}
    for row in rows.values():
        assert row["trl_note"] is None and row["trl_tok_s"] > 0 and row["trl_build_s"] > 0
    assert not any("lora" in name for name, _ in model.named_modules())
    assert not model.is_activation_checkpointing if hasattr(model, "is_activation_checkpointing") \
        else not model.is_gradient_checkpointing
    assert not model.training
    with torch.no_grad():
        assert torch.equal(model(input_ids=ids).logits, before)
