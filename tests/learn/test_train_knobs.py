"""The reference's training knobs: warm-up and schedule per round, examples per optimizer step."""
from __future__ import annotations

import dataclasses

import pytest
import torch

from arcfarm.arc.prompts import response_text
from arcfarm.learn.config import ConfigError, load_config
from arcfarm.learn.model import load_model
from arcfarm.learn.solver import lora_settings
from arcfarm.learn.trainer import LoraSettings, LoraTrainer, TrainExample, lr_factor

BASE = LoraSettings(rank=4, alpha=8.0, learning_rate=1e-3, batch_tokens=8192, max_seq_len=512)


def test_lr_factor_warms_up_then_holds_or_decays():
    assert [lr_factor(s, 10, 2, "constant") for s in range(4)] == [0.5, 1.0, 1.0, 1.0]
    assert [lr_factor(s, 10, 0, "constant") for s in (0, 9)] == [1.0, 1.0]
    linear = [lr_factor(s, 6, 2, "linear") for s in range(6)]
    assert linear == [0.5, 1.0, 1.0, 0.75, 0.5, 0.25]
    cosine = [lr_factor(s, 6, 2, "cosine") for s in range(6)]
    assert cosine[:3] == [0.5, 1.0, 1.0] and cosine[3] == pytest.approx(0.5 + 0.5 * 2 ** -0.5)
    assert cosine[4] == pytest.approx(0.5) and cosine[5] < cosine[4]
    with pytest.raises(ValueError, match="lr_schedule"):
        lr_factor(5, 10, 0, "step")


def test_config_keys_reach_the_trainer_and_bad_values_are_named():
    cfg = load_config(None, ["lr_warmup_ratio=0.1", "lr_schedule=cosine", "train_examples_per_step=1"])
    s = lora_settings(cfg)
    assert (s.warmup_ratio, s.lr_schedule, s.examples_per_step) == (0.1, "cosine", 1)
    defaults = lora_settings(load_config(None))
    assert (defaults.warmup_ratio, defaults.lr_schedule, defaults.examples_per_step) == (0.0, "constant", 0)
    with pytest.raises(ConfigError, match="lr_warmup_ratio"):
        load_config(None, ["lr_warmup_ratio=1.0"])
    with pytest.raises(ConfigError, match="relabel_policy"):
        load_config(None, ["relabel_policy=best"])


@pytest.fixture(scope="module")
def trainer(tiny_model_dir):
    torch.set_num_threads(1)
    model, tok = load_model(str(tiny_model_dir))
    return LoraTrainer(model, tok, BASE)


def _examples(tok, n: int) -> list[TrainExample]:
    return [TrainExample(tok.bos_token + f"task {i}\n", response_text(f"def transform(g):\n    return g + {i}"))
            for i in range(n)]


def test_one_example_per_step_and_warmup_per_call(trainer):
    examples = _examples(trainer.tokenizer, 5)
    packed = trainer.train(examples, BASE)
    assert packed.steps == 1  # everything fits one batch of 8192 tokens
    settings = dataclasses.replace(BASE, examples_per_step=1, epochs=2, warmup_ratio=0.3)
    report = trainer.train(examples, settings)
    assert report.error is None and report.steps == 10
    # ceil(0.3 * 10) = 3 warm-up steps, then constant; every call warms up afresh
    assert report.learning_rates == pytest.approx([1e-3 / 3, 2e-3 / 3, 1e-3] + [1e-3] * 7)
    again = trainer.train(examples, dataclasses.replace(settings, examples_per_step=2))
    assert again.steps == 6 and again.learning_rates[0] == pytest.approx(1e-3 / 2)
