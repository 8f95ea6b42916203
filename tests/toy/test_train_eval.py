"""`toy train --tiny-steps` writes a model the ordinary from_pretrained path loads, and `toy eval`
runs the three schedules end to end through the loop (tiny model, 2 tasks, budget 8, CPU)."""
from __future__ import annotations

import json

import pytest
import torch
from safetensors import safe_open
from transformers import LlamaForCausalLM
from typer.testing import CliRunner

from arcfarm.arc.prompts import COLOR_WORDS, render_prompt
from arcfarm.arc.tasks import parse_task
from arcfarm.cli.main import app
from arcfarm.learn.model import load_model
from arcfarm.toy.eval import pass_curve, schedules
from arcfarm.toy.train import SIZES, TrainSettings, model_config, train


@pytest.fixture(scope="module")
def tiny_model(toy_data, tmp_path_factory):
    out = tmp_path_factory.mktemp("toy-model")
    logs = []
    summary = train(TrainSettings(tasks=toy_data["train"], out=out, tiny_steps=2, batch_tokens=4096,
                                  warmup_steps=1), logs.append)
    return out, summary, logs


def test_tiny_training_saves_a_loadable_model(tiny_model, toy_data):
    out, summary, logs = tiny_model
    assert summary["steps"] == 2 and [r["step"] for r in logs if "step" in r] == [1, 2]
    assert all(torch.isfinite(torch.tensor(r["loss"])) for r in logs if "loss" in r)
    assert len(list(out.glob("*.safetensors"))) == 1
    with safe_open(str(out / "model.safetensors"), "pt") as f:
        assert {f.get_tensor(k).dtype for k in f.keys()} == {torch.bfloat16}
    assert json.loads((out / "train_summary.json").read_text())["weights_bytes"] == summary["weights_bytes"]

    model, tok = load_model(str(out), dtype="float32", device="cpu")
    assert tok.pad_token == "<|finetune_right_pad_id|>" and tok.eos_token == "<|eot_id|>"
    task, _ = parse_task("t", toy_data["train_tasks"][0])
    prompt = render_prompt(tok, task)
    assert prompt.startswith("<|begin_of_text|><|start_header_id|>system")
    ids = tok(prompt, add_special_tokens=False, return_tensors="pt")["input_ids"]
    assert tok.decode(ids[0]) == prompt
    out_ids = model.generate(ids, max_new_tokens=4, do_sample=True, pad_token_id=tok.pad_token_id)
    assert out_ids.shape[1] > ids.shape[1]


def test_colour_words_are_single_tokens(tiny_model):
    _, tok = load_model(str(tiny_model[0]), dtype="float32", device="cpu")
    for word in COLOR_WORDS:
        assert len(tok(" " + word, add_special_tokens=False)["input_ids"]) == 1, word


def test_the_toy_size_fits_16_mb_in_bf16(tiny_model):
    _, tok = load_model(str(tiny_model[0]), dtype="float32", device="cpu")
    tok_like = type("T", (), {"__len__": lambda self: SIZES["toy"].vocab, "bos_token_id": 0,
                              "pad_token_id": 6, "convert_tokens_to_ids": lambda self, t: 1})()
    config = model_config(SIZES["toy"], tok_like, 2048)
    assert config.head_dim >= 32 and 256 <= config.hidden_size <= 384
    with torch.device("meta"):
        n = sum(p.numel() for p in LlamaForCausalLM(config).parameters())
    assert 5e6 < n and 2 * n <= 16 * 2**20


def test_schedules_spend_equal_budgets():
    plan = schedules(128)
    assert [s.name for s in plan] == ["128+0", "32+3x32", "16+7x16"]
    assert {s.total for s in plan} == {128}
    assert pass_curve([[1, None], [3, 2]], 4) == [0.25, 0.5, 0.75, 0.75]


def test_eval_end_to_end_on_two_tasks(tiny_model, toy_data, tmp_path):
    result = CliRunner().invoke(app, [
        "toy", "eval", "--model", str(tiny_model[0]), "--tasks", str(toy_data["heldout"]),
        "--budget", "8", "--seeds", "1", "--limit", "2", "--json", "--plot", str(tmp_path / "p.png"),
        "--set", "max_new_tokens=8", "--set", "exec_workers=2", "--set", "device=cpu"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout.strip().splitlines()[-1])
    assert data["n_tasks"] == 2 and data["budget"] == 8 and data["device"].startswith("cpu")
    assert [s["schedule"] for s in data["schedules"]] == ["8+0", "2+3x2", "1+7x1"]
    for s in data["schedules"]:
        assert len(s["pass_at_2"]) == len(s["pass_at_n"]) == 1
        assert 0.0 <= s["pass_at_2"][0] <= s["pass_at_n"][0] <= 1.0 or s["pass_at_n"][0] == 0.0
    assert "commit" in data and (tmp_path / "p.png").stat().st_size > 1000
    assert data["compile"] is None  # the hf engine compiles nothing
    assert all(s["sample_warnings"] == [0] for s in data["schedules"])


def test_compile_totals_add_up_the_last_stats_of_each_solver_process():
    from arcfarm.toy.eval import compile_totals
    assert compile_totals({}) is None and compile_totals({7: None}) is None
    totals = compile_totals({7: {"compiled_shapes": 3, "fallbacks": 0, "first_error": None},
                             8: {"compiled_shapes": 2, "fallbacks": 1, "first_error": "FailOnRecompileLimitHit"},
                             9: None})
    assert totals == {"processes": 2, "graphs": 5, "fallbacks": 1, "first_error": "FailOnRecompileLimitHit"}
