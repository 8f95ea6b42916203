"""The trl baseline of `arcfarm bench gpu` (issue 17, item 4) on a small random model on the CPU:
it measures, and it hands the model back bare (no LoRA layers, no checkpointing, same outputs),
because our trainer wraps the same model next."""
from __future__ import annotations

import torch

from arcfarm.bench.gpu_bench import bench_tokenizer, build_model
from arcfarm.bench.trl_baseline import trl_training


def _state(model):
    return {"config": dict(vars(model.config)), "generation": dict(vars(model.generation_config)),
            "grad": {n: p.requires_grad for n, p in model.named_parameters()},
            "hooks": {n: len(m._forward_hooks) for n, m in model.named_modules()},
            "modules": [n for n, _ in model.named_modules()], "attrs": set(vars(model))}


def test_trl_baseline_measures_and_leaves_the_model_as_it_was():
    torch.manual_seed(0)
    model, tokenizer = build_model(small=True), bench_tokenizer()
    ids = torch.randint(3, model.config.vocab_size, (1, 24))
    before = _state(model)
    with torch.no_grad():
        logits = model(input_ids=ids).logits
    rows = trl_training(model, tokenizer, lengths=(32, 48), steps=2, log=lambda m: None)
    assert set(rows) == {32, 48}
    for row in rows.values():
        assert row["trl_note"] is None and row["trl_tok_s"] > 0
        assert 0 < row["trl_build_s"] < row["trl_round_s"]
    # config (use_cache, token ids), generation config, requires_grad, hooks, modules, `forward`
    assert _state(model) == before
    assert not model.training
    with torch.no_grad():
        assert torch.equal(model(input_ids=ids).logits, logits)


def test_a_trl_failure_is_a_note_and_the_model_is_still_bare(monkeypatch):
    import trl

    model, tokenizer = build_model(small=True), bench_tokenizer()
    before = _state(model)

    def broken_train(self, *a, **k):
        raise RuntimeError("trl changed its API")
    monkeypatch.setattr(trl.SFTTrainer, "train", broken_train)
    rows = trl_training(model, tokenizer, lengths=(32,), steps=2, log=lambda m: None)
    assert rows[32]["trl_tok_s"] is None and "RuntimeError: trl changed its API" in rows[32]["trl_note"]
    assert _state(model) == before  # the LoRA trl injected before failing is gone
