"""The tiny test model and `load_model`: same loading path as a real checkpoint, safe pad token."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from tokenizers import Tokenizer, models, pre_tokenizers
from transformers import PreTrainedTokenizerFast
from typer.testing import CliRunner

from arcfarm.arc.prompts import render_prompt, response_text
from arcfarm.arc.tasks import Pair, Task
from arcfarm.cli.main import app
from arcfarm.learn.model import PAD_TOKEN, load_model, setup_tokenizer, stop_token_ids


def _task() -> Task:
    rng = np.random.default_rng(1)
    pairs = tuple(Pair(rng.integers(0, 10, (3, 4)), rng.integers(0, 10, (4, 3))) for _ in range(2))
    return Task("t1", pairs, (rng.integers(0, 10, (5, 5)),))


def test_cli_writes_a_loadable_deterministic_model(tiny_model_dir, tmp_path):
    result = CliRunner().invoke(app, ["make-tiny-model", str(tmp_path / "m"), "--seed", "0"])
    assert result.exit_code == 0, result.output
    for name in ("model.safetensors", "tokenizer.json", "config.json", "generation_config.json"):
        assert (tmp_path / "m" / name).read_bytes() == (tiny_model_dir / name).read_bytes(), name
    model, tokenizer = load_model(str(tmp_path / "m"))
    assert model.config.model_type == "llama"
    assert 500_000 < sum(p.numel() for p in model.parameters()) < 10_000_000
    assert model.config.head_dim >= 32


def test_seed_changes_weights(tiny_model_dir, tmp_path):
    CliRunner().invoke(app, ["make-tiny-model", str(tmp_path / "m1"), "--seed", "1"])
    a, _ = load_model(str(tiny_model_dir))
    b, _ = load_model(str(tmp_path / "m1"))
    assert not torch.equal(a.model.embed_tokens.weight, b.model.embed_tokens.weight)


def test_load_sets_safe_pad_without_resizing(tiny_model_dir):
    model, tok = load_model(str(tiny_model_dir), dtype="auto", device="cpu")
    assert tok.pad_token == PAD_TOKEN and tok.padding_side == "left"
    assert tok.pad_token_id not in stop_token_ids(tok)
    assert model.get_input_embeddings().weight.shape[0] == model.config.vocab_size == len(tok)
    assert model.dtype == torch.float32 and not model.training
    names = [tok.convert_ids_to_tokens(i) for i in stop_token_ids(tok)]
    assert set(names) == {"<|eot_id|>", "<|end_of_text|>", "<|eom_id|>"}


def test_barc_prompt_renders_and_round_trips(tiny_model_dir):
    _, tok = load_model(str(tiny_model_dir))
    prompt = render_prompt(tok, _task())
    assert prompt.startswith("<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\n"
                             "Cutting Knowledge Date: December 2023\nToday Date: 26 Jul 2024\n\n")
    assert prompt.endswith("<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n")
    ids = tok(prompt, add_special_tokens=False)["input_ids"]
    assert ids.count(tok.bos_token_id) == 1 and ids[0] == tok.bos_token_id
    assert tok.decode(ids) == prompt
    text = response_text("def transform(g):\n    return g  # héllo ✓\t日本")
    assert tok.decode(tok(text, add_special_tokens=False)["input_ids"]) == text
    # The BPE learned the prompt vocabulary: a colour word is one token.
    assert len(tok(" Purple", add_special_tokens=False)["input_ids"]) == 1


def _bare_tokenizer(specials: list[str], **named) -> PreTrainedTokenizerFast:
    raw = Tokenizer(models.BPE())
    raw.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    raw.add_tokens(list(pre_tokenizers.ByteLevel.alphabet()))
    raw.add_special_tokens(specials)
    return PreTrainedTokenizerFast(tokenizer_object=raw, **named)


def test_pad_that_equals_eos_is_replaced():
    # The released BARC tokenizer: pad = <|eot_id|>, and <|finetune_right_pad_id|> in the vocabulary.
    tok = _bare_tokenizer(["<|begin_of_text|>", "<|eot_id|>", PAD_TOKEN],
                          bos_token="<|begin_of_text|>", eos_token="<|eot_id|>", pad_token="<|eot_id|>")
    size = len(tok)
    setup_tokenizer(tok)
    assert tok.pad_token == PAD_TOKEN and len(tok) == size


def test_missing_pad_reuses_a_non_stop_special_token():
    tok = _bare_tokenizer(["<|begin_of_text|>", "<|eot_id|>"],
                          bos_token="<|begin_of_text|>", eos_token="<|eot_id|>")
    size = len(tok)
    setup_tokenizer(tok)
    assert tok.pad_token == "<|begin_of_text|>" and len(tok) == size


def test_bad_dtype_is_named(tiny_model_dir):
    with pytest.raises(ValueError, match="float8"):
        load_model(str(tiny_model_dir), dtype="float8")
