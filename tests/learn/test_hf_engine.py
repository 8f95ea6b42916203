"""HFEngine on the tiny model: greedy equals plain generate, seeds repeat, counts are right."""
from __future__ import annotations

import pytest
import torch

from arcfarm.learn.engines import make_engine
from arcfarm.learn.engines.base import AdapterRef, SamplingParams
from arcfarm.learn.engines.hf import HFEngine
from arcfarm.learn.model import load_model, stop_token_ids


@pytest.fixture(autouse=True)
def _one_thread():
    # The tiny model gains nothing from threads, and a busy 2-core box makes them crawl.
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture
def model_tok(tiny_model_dir):
    return load_model(str(tiny_model_dir))


def _prompt(tok, user: str) -> str:
    return tok.apply_chat_template([{"role": "system", "content": "Solve it."},
                                    {"role": "user", "content": user}],
                                   tokenize=False, add_generation_prompt=True)


def _reference_greedy(model, tok, prompt: str, max_new: int) -> list[int]:
    """Plain transformers greedy decoding, cut after the first stop token."""
    ids = tok(prompt, add_special_tokens=False, return_tensors="pt")["input_ids"]
    out = model.generate(ids, attention_mask=torch.ones_like(ids), do_sample=False,
                         max_new_tokens=max_new, eos_token_id=stop_token_ids(tok),
                         pad_token_id=tok.pad_token_id)[0, ids.shape[1]:].tolist()
    stops = set(stop_token_ids(tok))
    end = next((i + 1 for i, t in enumerate(out) if t in stops), len(out))
    return out[:end]


def test_greedy_matches_model_generate_with_left_padding(model_tok):
    model, tok = model_tok
    prompts = [_prompt(tok, "Blue Red\nRed Blue"), _prompt(tok, "Black " * 40), _prompt(tok, "x")]
    engine = HFEngine(model, tok, batch_size=8)  # one padded batch of 3 prompts x 2
    out = engine.generate(prompts, 2, SamplingParams(temperature=0.0, max_new_tokens=40))
    for prompt, completions in zip(prompts, out):
        ref = _reference_greedy(model, tok, prompt, 40)
        assert [c.text for c in completions] == [tok.decode(ref, skip_special_tokens=True)] * 2
        stopped = ref[-1] in stop_token_ids(tok)
        for c in completions:
            assert c.completion_tokens == len(ref)
            assert c.finish_reason == ("stop" if stopped else "length")
            assert c.prompt_tokens == len(tok(prompt, add_special_tokens=False)["input_ids"])


def test_same_seed_same_samples_and_n_per_prompt(model_tok):
    model, tok = model_tok
    prompts = [_prompt(tok, "Green Green"), _prompt(tok, "Yellow\nPink Orange")]
    engine = make_engine("hf", model, tok, batch_size=3)  # 2 x 5 rows cross batch boundaries
    params = SamplingParams(temperature=1.0, top_p=0.95, max_new_tokens=24, seed=7)
    first = engine.generate(prompts, 5, params)
    again = engine.generate(prompts, 5, params)
    other = engine.generate(prompts, 5, SamplingParams(temperature=1.0, max_new_tokens=24, seed=8))
    assert [len(c) for c in first] == [5, 5]
    assert first == again
    assert first != other
    assert len({c.text for c in first[0]}) > 1  # sampling, not five copies
    for c in first[0] + first[1]:
        assert 1 <= c.completion_tokens <= 24
        assert c.finish_reason in ("stop", "length")
        if c.finish_reason == "length":
            assert c.completion_tokens == 24


def test_length_limit_is_reported(model_tok):
    model, tok = model_tok
    out = HFEngine(model, tok).generate([_prompt(tok, "Red")], 3, SamplingParams(max_new_tokens=1, seed=0))
    for c in out[0]:
        assert c.completion_tokens == 1
        assert c.finish_reason in ("stop", "length")


def test_adapter_on_a_plain_model_is_an_error(model_tok):
    model, tok = model_tok
    with pytest.raises(ValueError, match="no LoRA"):
        HFEngine(model, tok).generate(["x"], 1, SamplingParams(), AdapterRef("task", 1, None))


def _vllm_installed() -> bool:
    try:  # the LLM class itself: a stray folder named vllm would satisfy a bare import
        from vllm import LLM  # noqa: F401
    except ImportError:
        return False
    return True


def test_engines_name_what_is_missing(model_tok):
    model, tok = model_tok
    if not _vllm_installed():  # the optional extra; tests/learn/test_vllm_engine.py covers the engine
        with pytest.raises(ImportError, match=r"pip install arcfarm\[vllm\]"):
            make_engine("vllm", model, tok)
    with pytest.raises(ValueError, match="unknown engine"):
        make_engine("nope", model, tok)
