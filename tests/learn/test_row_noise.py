"""Per-row sampling noise: a sample depends on its prompt's seed, not on the batch it shares."""
from __future__ import annotations

import pytest
import torch

from arcfarm.learn.engines.base import SamplingParams
from arcfarm.learn.engines.hf import HFEngine
from arcfarm.learn.engines.row_noise import gumbel_scores, row_seeds, top_p_mask, uniform_noise
from arcfarm.learn.model import load_model


def test_noise_is_a_function_of_seed_step_and_token_only():
    a = uniform_noise(torch.tensor([5, 9]), 3, 50)
    b = uniform_noise(torch.tensor([9]), 3, 50)
    assert torch.equal(a[1], b[0])
    assert not torch.equal(a[0], a[1])
    assert not torch.equal(uniform_noise(torch.tensor([5]), 4, 50)[0], a[0])
    assert float(a.min()) > 0 and float(a.max()) < 1


def test_gumbel_max_draws_from_the_softmax():
    """20,000 rows with distinct seeds: token frequencies match softmax(logits) within 2%."""
    logits = torch.tensor([2.0, 1.0, 0.0, -1.0]).repeat(20000, 1)
    seeds = torch.tensor(row_seeds([7], 20000))
    picks = gumbel_scores(logits, 1.0, 1.0, seeds, 0).argmax(-1)
    freq = torch.bincount(picks, minlength=4).float() / 20000
    assert torch.allclose(freq, logits[0].softmax(-1), atol=0.02)


def test_top_p_keeps_the_smallest_head_reaching_p():
    logits = torch.log(torch.tensor([[0.5, 0.3, 0.15, 0.05]]))
    kept = torch.isfinite(top_p_mask(logits, 0.75))[0].tolist()
    assert kept == [True, True, False, False]


@pytest.fixture
def engine(tiny_model_dir):
    torch.set_num_threads(1)
    model, tok = load_model(str(tiny_model_dir))
    return HFEngine(model, tok, batch_size=8)


def test_a_prompts_samples_do_not_depend_on_its_batch_mates(engine):
    tok = engine.tokenizer
    prompts = [tok.bos_token + f"grid {c}" for c in "abc"]
    lengths = {len(tok(p, add_special_tokens=False)["input_ids"]) for p in prompts}
    assert len(lengths) == 1  # equal lengths: no padding, only the batch differs
    params = SamplingParams(temperature=1.0, top_p=0.95, max_new_tokens=12, prompt_seeds=[11, 22, 33])
    together = engine.generate(prompts, 4, params, batch_size=12)
    alone = engine.generate(prompts[1:2], 4, SamplingParams(temperature=1.0, top_p=0.95,
                                                            max_new_tokens=12, prompt_seeds=[22]),
                            batch_size=4)
    assert [c.text for c in together[1]] == [c.text for c in alone[0]]
    assert len({c.text for c in together[1]}) > 1  # four different samples, not one repeated
    other_seed = engine.generate(prompts[1:2], 4, SamplingParams(temperature=1.0, top_p=0.95,
                                                                 max_new_tokens=12, prompt_seeds=[23]),
                                 batch_size=4)
    assert [c.text for c in other_seed[0]] != [c.text for c in alone[0]]


def test_prompt_seeds_must_match_the_prompts(engine):
    with pytest.raises(ValueError, match="prompt_seeds: 1 seeds for 2 prompts"):
        engine.generate(["a", "b"], 1, SamplingParams(prompt_seeds=[1]))
