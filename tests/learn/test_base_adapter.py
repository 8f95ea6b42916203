"""`base_adapter`: an adapter merged into the base weights before the per-task LoRA wraps the
model. On the tiny model: the merged model computes what base + adapter computes, differs from
the base, and bad references are clear errors."""
from __future__ import annotations

import pytest
import torch
from peft import PeftModel

from arcfarm.learn.config import ConfigError, load_config, training_id
from arcfarm.learn.model import load_model, merge_base_adapter
from arcfarm.learn.solver import _structure, lora_settings
from arcfarm.learn.trainer import LoraTrainer


@pytest.fixture(scope="module")
def adapter_dir(tiny_model_dir, tmp_path_factory):
    """A LoRA with random B (so it changes the model), saved the way the farm saves adapters."""
    model, tok = load_model(str(tiny_model_dir), dtype="float32", device="cpu")
    trainer = LoraTrainer(model, tok, lora_settings(load_config("tiny-cpu")))
    torch.manual_seed(1)
    with torch.no_grad():
        for name, p in trainer.model.named_parameters():
            if "lora_B" in name:
                p.normal_(0, 0.05)
    out = tmp_path_factory.mktemp("base-adapter")
    trainer.save(out)
    return out


def _logits(model, tok):
    ids = tok("Blue Red\nGreen Yellow", add_special_tokens=False, return_tensors="pt")["input_ids"]
    with torch.no_grad():
        return model(input_ids=ids).logits


def test_merged_model_computes_base_plus_adapter(tiny_model_dir, adapter_dir):
    base, tok = load_model(str(tiny_model_dir), dtype="float32", device="cpu")
    plain = _logits(base, tok)
    merged = merge_base_adapter(base, str(adapter_dir))
    assert not any("lora" in n for n, _ in merged.named_parameters())  # a plain model again
    other, _ = load_model(str(tiny_model_dir), dtype="float32", device="cpu")
    stacked = _logits(PeftModel.from_pretrained(other, str(adapter_dir)), tok)
    got = _logits(merged, tok)
    assert torch.allclose(got, stacked, atol=1e-4)
    assert not torch.allclose(got, plain, atol=1e-3)
    # The per-task LoRA wraps the merged model; fresh (B = 0) it changes nothing.
    trainer = LoraTrainer(merged, tok, lora_settings(load_config("tiny-cpu")))
    assert torch.allclose(_logits(trainer.model, tok), got, atol=1e-5)


def test_bad_base_adapters_are_clear_errors(tiny_model_dir, tmp_path):
    base, _ = load_model(str(tiny_model_dir), dtype="float32", device="cpu")
    with pytest.raises(ValueError, match="not a folder with adapter_config.json"):
        merge_base_adapter(base, str(tmp_path))
    with pytest.raises(ValueError, match="names a recorded training"):
        merge_base_adapter(base, "training:3")
    for bad in ("training:x", "training:0", " "):
        with pytest.raises(ConfigError, match="base_adapter"):
            load_config("tiny-cpu", overrides=[f"base_adapter={bad}"])
    with pytest.raises(ConfigError, match="engine vllm"):
        load_config("tiny-cpu", overrides=["base_adapter=training:2", "engine=vllm"])


def test_a_base_adapter_is_part_of_what_a_solver_is_built_for():
    plain = load_config("tiny-cpu")
    based = load_config("tiny-cpu", overrides=["base_adapter=training:4"])
    assert training_id(based.base_adapter) == 4 and training_id("some/folder") is None
    assert _structure(plain) != _structure(based)  # a worker builds a new Solver for it
