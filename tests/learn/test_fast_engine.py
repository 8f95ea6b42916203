"""FastEngine on the CPU (eager path, same step code the GPU captures in CUDA graphs):
greedy output equals `model.generate` (LoRA off and on), sampled token frequencies match the
model's softmax + top-p distribution, n per prompt and token counts; `bench gpu --small` keys."""
from __future__ import annotations

import json

import pytest
import torch
from peft import LoraConfig, get_peft_model

from arcfarm.learn.engines.base import AdapterRef, SamplingParams
from arcfarm.learn.engines.fast import FastEngine, _sample
from arcfarm.learn.model import setup_tokenizer, stop_token_ids
from arcfarm.learn.tiny_model import build_model, build_tokenizer

ALL = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]
ADAPTER = AdapterRef("default", 1)


@pytest.fixture(scope="module")
def setup():
    tokenizer = setup_tokenizer(build_tokenizer())
    model = build_model(tokenizer, seed=0, layers=2, hidden=128)
    with torch.no_grad():
        model.lm_head.weight.mul_(12)  # a peaked next-token distribution: top-p cuts something
    peft = get_peft_model(model, LoraConfig(r=4, lora_alpha=8, target_modules=ALL))
    gen = torch.Generator().manual_seed(1)
    with torch.no_grad():
        for name, p in peft.named_parameters():
            if "lora_B" in name:  # B is zero at init: make the adapter matter
                p.copy_(torch.randn(p.shape, generator=gen) * 0.05)
    peft.eval()
    prompts = [tokenizer.bos_token + "the grid is blue and red", tokenizer.bos_token + "def transform(x):" * 3]
    return peft, tokenizer, prompts


def _reference(peft, tokenizer, prompt, new_tokens, adapter):
    ids = tokenizer(prompt, add_special_tokens=False, return_tensors="pt")["input_ids"]
    stops = stop_token_ids(tokenizer)
    kwargs = dict(attention_mask=torch.ones_like(ids), do_sample=False, max_new_tokens=new_tokens,
                  eos_token_id=stops, pad_token_id=tokenizer.pad_token_id)
    with torch.no_grad():
        if adapter is None:
            with peft.disable_adapter():
                out = peft.generate(input_ids=ids, **kwargs)
        else:
            out = peft.generate(input_ids=ids, **kwargs)
    row = out[0, ids.shape[1]:].tolist()
    end = next((i + 1 for i, t in enumerate(row) if t in stops), len(row))
    return row[:end]


@pytest.mark.parametrize("adapter", [None, ADAPTER], ids=["base", "lora"])
def test_greedy_equals_generate(setup, adapter):
    peft, tokenizer, prompts = setup
    engine = FastEngine(peft, tokenizer, batch_size=4, use_cuda_graphs=False, suffix_bucket=8)
    params = SamplingParams(temperature=0, max_new_tokens=30)
    ids = tokenizer(prompts, add_special_tokens=False)["input_ids"]
    got = engine.generate_ids(ids, 2, params, adapter)  # 2 prompts of different lengths, one batch
    for prompt, rows in zip(prompts, got):
        expected = _reference(peft, tokenizer, prompt, 30, adapter)
        assert rows == [expected, expected]


def test_lora_changes_output_and_in_place_updates_are_seen(setup):
    peft, tokenizer, prompts = setup
    engine = FastEngine(peft, tokenizer, batch_size=4, use_cuda_graphs=False)
    params = SamplingParams(temperature=0, max_new_tokens=12)
    ids = tokenizer(prompts[:1], add_special_tokens=False)["input_ids"]
    base, lora = engine.generate_ids(ids, 1, params, None), engine.generate_ids(ids, 1, params, ADAPTER)
    assert base != lora
    b = next(p for n, p in peft.named_parameters() if "lora_B" in n and "q_proj" in n)
    saved = b.detach().clone()
    with torch.no_grad():
        for name, p in peft.named_parameters():
            if "lora_B" in name:
                p.mul_(3.0)
    try:
        after = engine.generate_ids(ids, 1, params, ADAPTER)
        assert after[0][0] == _reference(peft, tokenizer, prompts[0], 12, ADAPTER)
    finally:
        with torch.no_grad():
            for name, p in peft.named_parameters():
                if "lora_B" in name:
                    p.div_(3.0)
    assert torch.allclose(b, saved)


def _expected_probs(logits: torch.Tensor, top_p: float) -> torch.Tensor:
    """softmax restricted to the smallest set of tokens whose mass reaches top_p, renormalised."""
    probs = logits.softmax(-1)
    order = probs.argsort(descending=True)
    keep = (probs[order].cumsum(0) - probs[order]) < top_p
    mask = torch.zeros_like(probs, dtype=torch.bool)
    mask[order[keep]] = True
    return torch.where(mask, probs, 0) / probs[mask].sum()


def test_sampled_first_and_later_token_frequencies(setup):
    peft, tokenizer, prompts = setup
    torch.manual_seed(0)
    engine = FastEngine(peft, tokenizer, batch_size=1000, use_cuda_graphs=False)
    ids = tokenizer(prompts[:1], add_special_tokens=False)["input_ids"][0]
    n = 4000
    params = SamplingParams(temperature=0.8, top_p=0.9, max_new_tokens=2, seed=3)
    rows = engine.generate_ids([ids], n, params, ADAPTER)[0]
    assert len(rows) == n and all(len(r) <= 2 for r in rows)
    with torch.no_grad():
        logits = peft(torch.tensor([ids])).logits[0, -1].float() / 0.8
    expected = _expected_probs(logits, 0.9)
    first = torch.bincount(torch.tensor([r[0] for r in rows]), minlength=expected.numel()).float() / n
    assert first[expected == 0].sum() == 0  # nothing outside the nucleus
    assert (first - expected).abs().max() < 0.03  # ~4 sigma at n=4000
    # The second token (decode step, suffix cache) given the most frequent first token.
    top = int(first.argmax())
    seconds = torch.tensor([r[1] for r in rows if r[0] == top and len(r) == 2])
    with torch.no_grad():
        logits2 = peft(torch.tensor([ids + [top]])).logits[0, -1].float() / 0.8
    expected2 = _expected_probs(logits2, 0.9)
    freq2 = torch.bincount(seconds, minlength=expected2.numel()).float() / len(seconds)
    assert len(seconds) > 500
    assert freq2[expected2 == 0].sum() == 0
    assert (freq2 - expected2).abs().max() < 4 * (0.25 / len(seconds)) ** 0.5


def test_sample_function_matches_distribution():
    torch.manual_seed(0)
    logits = torch.randn(1, 50) * 2
    draws = _sample(logits.expand(20000, -1), temperature=1.0, top_p=0.8)
    freq = torch.bincount(draws, minlength=50).float() / 20000
    expected = _expected_probs(logits[0], 0.8)
    assert freq[expected == 0].sum() == 0
    assert (freq - expected).abs().max() < 0.015


def test_counts_and_completions(setup):
    peft, tokenizer, prompts = setup
    engine = FastEngine(peft, tokenizer, batch_size=4, use_cuda_graphs=False)
    params = SamplingParams(temperature=1.0, top_p=0.95, max_new_tokens=9, seed=1)
    out = engine.generate(prompts, 5, params, ADAPTER)  # n=5 > batch_size=4: chunks of 3 (+pad)
    assert [len(c) for c in out] == [5, 5]
    stops = set(stop_token_ids(tokenizer))
    for prompt, completions in zip(prompts, out):
        n_prompt = len(tokenizer(prompt, add_special_tokens=False)["input_ids"])
        for c in completions:
            assert c.prompt_tokens == n_prompt
            assert 1 <= c.completion_tokens <= 9
            assert (c.finish_reason == "length") == (c.completion_tokens == 9 and c.finish_reason != "stop")
    again = engine.generate(prompts, 5, params, ADAPTER)
    assert [[c.text for c in cs] for cs in again] == [[c.text for c in cs] for cs in out]  # seeded
    rows = engine.generate_ids(tokenizer(prompts, add_special_tokens=False)["input_ids"], 3, params, None)
    for row in (r for rs in rows for r in rs):
        assert all(t not in stops for t in row[:-1])


def test_bench_gpu_small_json(tmp_path):
    from typer.testing import CliRunner

    from arcfarm.cli.main import app
    out = tmp_path / "gpu.json"
    result = CliRunner().invoke(app, ["bench", "gpu", "--small", "--json", "--out", str(out),
                                      "--sections", "sampling,training,overhead"])
    assert result.exit_code == 0, result.output
    data = json.loads(out.read_text())
    for key in ("device", "torch", "transformers", "peft", "git_commit", "sampling", "training",
                "epoch_overhead_s", "task_s_128x4", "ratio_8_rounds_vs_2"):
        assert key in data
    assert {"n", "prompt_tokens", "new_tokens", "out_tok_s", "baseline_out_tok_s"} <= set(data["sampling"][0])
    assert {"seq_len", "tok_s", "baseline_tok_s"} <= set(data["training"][0])
    assert data["sampling"][0]["out_tok_s"] > 0 and data["training"][0]["tok_s"] > 0
    # the reference's baseline, trl's SFTTrainer rebuilt every round (trl is in the test extra)
    for row in data["training"]:
        assert row["trl_note"] is None and row["trl_tok_s"] > 0 and row["trl_build_s"] > 0


@pytest.mark.parametrize("adapter", [None, ADAPTER], ids=["base", "lora"])
def test_compiled_step_equals_eager(setup, adapter):
    """The decode step as torch.compile traces it (whole graph, aot_eager: no C++ build on CI)
    gives the eager step's tokens; CUDA compiles the same graph with Inductor."""
    peft, tokenizer, prompts = setup
    ids = tokenizer(prompts, add_special_tokens=False)["input_ids"]
    params = SamplingParams(temperature=0, max_new_tokens=30)
    eager = FastEngine(peft, tokenizer, batch_size=4, use_cuda_graphs=False, suffix_bucket=8)
    assert not eager.compiled  # CPU default
    compiled = FastEngine(peft, tokenizer, batch_size=4, use_cuda_graphs=False, suffix_bucket=8,
                          compile_step=True, compile_backend="aot_eager")
    assert compiled.generate_ids(ids, 2, params, adapter) == eager.generate_ids(ids, 2, params, adapter)
    assert compiled.compiled and compiled.compile_error is None


def test_a_compiler_that_fails_falls_back_to_eager(setup):
    peft, tokenizer, prompts = setup
    ids = tokenizer(prompts, add_special_tokens=False)["input_ids"]
    params = SamplingParams(temperature=0, max_new_tokens=12)

    def broken_backend(graph, example_inputs):
        raise RuntimeError("no C compiler here")
    engine = FastEngine(peft, tokenizer, batch_size=4, use_cuda_graphs=False, suffix_bucket=8,
                        compile_step=True, compile_backend=broken_backend)
    with pytest.warns(UserWarning, match="torch.compile failed") as caught:
        got = engine.generate_ids(ids, 2, params, ADAPTER)
    assert len([w for w in caught if "torch.compile failed" in str(w.message)]) == 1  # one warning
    eager = FastEngine(peft, tokenizer, batch_size=4, use_cuda_graphs=False, suffix_bucket=8)
    assert got == eager.generate_ids(ids, 2, params, ADAPTER)
    assert "no C compiler here" in engine.compile_error
    stats = engine.compile_stats()
    assert stats["fallbacks"] == 2 and stats["compiled_shapes"] == 0  # suffix buckets 8 and 16
    assert "2 shape(s)" in engine.take_note() and engine.take_note() is None  # reported once


def test_prompt_seeds_give_the_hf_engines_samples_whatever_the_batch(setup):
    """Per-row noise: the fast engine draws, for prompt i's sample j, what the hf engine draws
    with the same seed, and the same whether the prompt is alone, in a batch, or split in chunks."""
    from arcfarm.learn.engines.hf import HFEngine

    peft, tokenizer, prompts = setup
    params = SamplingParams(temperature=1.0, top_p=0.95, max_new_tokens=20, prompt_seeds=[5, 6])
    fast = FastEngine(peft, tokenizer, batch_size=8, use_cuda_graphs=False, suffix_bucket=8)
    together = fast.generate_ids(tokenizer(prompts, add_special_tokens=False)["input_ids"], 4, params)
    alone = fast.generate_ids(tokenizer(prompts[1:], add_special_tokens=False)["input_ids"], 4,
                              SamplingParams(temperature=1.0, top_p=0.95, max_new_tokens=20,
                                             prompt_seeds=[6]), batch_size=2)  # two chunks of 2
    assert together[1] == alone[0]
    assert len({tuple(r) for r in together[0]}) > 1
    hf = HFEngine(peft, tokenizer, batch_size=4)
    by_hf = hf.generate(prompts[1:], 4, SamplingParams(temperature=1.0, top_p=0.95, max_new_tokens=20,
                                                       prompt_seeds=[6]))
    assert [c.text for c in by_hf[0]] == [tokenizer.decode(r, skip_special_tokens=True) for r in alone[0]]
