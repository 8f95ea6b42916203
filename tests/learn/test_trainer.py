"""LoraTrainer on the tiny model: it learns, resets exactly, survives failures, saves and loads."""
from __future__ import annotations

import dataclasses
import hashlib
from pathlib import Path

import pytest
import torch

from arcfarm.arc.prompts import response_text
from arcfarm.learn.engines.base import AdapterRef, SamplingParams
from arcfarm.learn.engines.hf import HFEngine
from arcfarm.learn.fast_train import FastLoraTrainer
from arcfarm.learn.model import load_model
from arcfarm.learn.trainer import LoraSettings, LoraTrainer, TrainExample, _pack

CODE = "def transform(input_grid):\n    output_grid = np.fliplr(input_grid)\n    return output_grid"
FAST = LoraSettings(rank=16, alpha=32.0, learning_rate=3e-3, batch_tokens=2048, max_seq_len=1024)


@pytest.fixture(autouse=True)
def _one_thread():
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def _prompt(tok, user: str) -> str:
    return tok.apply_chat_template([{"role": "system", "content": "Solve it."},
                                    {"role": "user", "content": user}],
                                   tokenize=False, add_generation_prompt=True)


def _examples(tok) -> list[TrainExample]:
    users = ["Blue Red\nRed Blue", "Black Black Gray\nPink", "Yellow Orange Purple Brown"]
    codes = [CODE, "def transform(x):\n    return x.T", "def transform(grid):\n    return grid[::-1]"]
    return [TrainExample(_prompt(tok, u), response_text(c)) for u, c in zip(users, codes)]


def _probe(tok) -> torch.Tensor:
    return tok(_prompt(tok, "Green Blue\nRed") + response_text(CODE), add_special_tokens=False,
               return_tensors="pt")["input_ids"]


def _logits(model, ids) -> torch.Tensor:
    with torch.no_grad():
        return model(input_ids=ids).logits


def _response_loglik(model, tok, examples) -> float:
    """Mean log-probability per response token (closing <|eot_id|> included)."""
    total, count = 0.0, 0
    eot = tok.convert_tokens_to_ids("<|eot_id|>")
    for ex in examples:
        p = tok(ex.prompt, add_special_tokens=False)["input_ids"]
        r = tok(ex.response, add_special_tokens=False)["input_ids"] + [eot]
        logp = torch.log_softmax(_logits(model, torch.tensor([p + r]))[0, len(p) - 1:-1], -1)
        total += logp.gather(1, torch.tensor(r)[:, None]).sum().item()
        count += len(r)
    return total / count


@pytest.fixture
def setup(tiny_model_dir):
    """A fresh base model (get_peft_model changes it in place), its logits before wrapping, a trainer."""
    model, tok = load_model(str(tiny_model_dir))
    base_logits = _logits(model, _probe(tok))
    torch.manual_seed(0)  # the LoRA A init draws from the global RNG
    return LoraTrainer(model, tok, dataclasses.replace(FAST)), tok, base_logits  # tests edit settings


def test_one_call_raises_response_likelihood(setup):
    trainer, tok, _ = setup
    examples = _examples(tok)
    before = _response_loglik(trainer.model, tok, examples)
    trainer.settings.epochs = 5
    report = trainer.train(examples)
    after = _response_loglik(trainer.model, tok, examples)
    assert report.error is None and report.examples == 3 and report.steps == 5
    assert report.tokens > 0 and report.loss is not None
    assert after > before + 1.0, (before, after)
    assert not trainer.model.training


def test_memorises_one_example_and_engine_reproduces_it(setup):
    trainer, tok, _ = setup
    example = _examples(tok)[0]
    engine = HFEngine(trainer.model, tok, batch_size=4)
    greedy = SamplingParams(temperature=0.0, max_new_tokens=120)
    base_before = engine.generate([example.prompt], 1, greedy)[0][0]
    trainer.settings.epochs = 30
    report = trainer.train([example])
    assert report.error is None and report.loss < 0.05, report
    other = _prompt(tok, "Gray " * 25)  # a longer prompt in the same batch: left padding
    tuned = engine.generate([example.prompt, other], 1, greedy, AdapterRef("default", 1, None))
    c = tuned[0][0]
    assert c.text == example.response and c.finish_reason == "stop"
    assert c.completion_tokens == len(tok(example.response, add_special_tokens=False)["input_ids"]) + 1
    # adapter=None samples from the base model, untouched by training.
    assert engine.generate([example.prompt], 1, greedy)[0][0] == base_before


def test_reset_restores_base_logits_exactly(setup):
    trainer, tok, base_logits = setup
    ids = _probe(tok)
    assert torch.equal(_logits(trainer.model, ids), base_logits)  # B = 0 at start
    trainer.train(_examples(tok))
    assert not torch.equal(_logits(trainer.model, ids), base_logits)
    with trainer.model.disable_adapter():
        assert torch.equal(_logits(trainer.model, ids), base_logits)
    trainer.reset()
    assert torch.equal(_logits(trainer.model, ids), base_logits)
    assert trainer.train(_examples(tok)).error is None  # trains again after a reset


def test_failure_keeps_previous_adapter_and_returns_error(setup):
    trainer, tok, _ = setup
    examples = _examples(tok)
    trainer.train(examples)
    before = trainer.lora_state()
    calls = []

    def fail_on_third_step():
        calls.append(1)
        if len(calls) == 3:
            raise torch.OutOfMemoryError("CUDA out of memory (simulated)")

    trainer.fault_hook = fail_on_third_step
    trainer.settings.epochs = 4
    report = trainer.train(examples)  # two steps went through before the failure
    assert report.error is not None and "OutOfMemoryError" in report.error
    after = trainer.lora_state()
    assert all(torch.equal(before[k], after[k]) for k in before)
    assert not trainer.model.training
    trainer.fault_hook = None
    assert trainer.train(examples).error is None


def test_save_load_round_trip(setup, tmp_path):
    trainer, tok, base_logits = setup
    ids = _probe(tok)
    trainer.train(_examples(tok))
    trained = _logits(trainer.model, ids)
    info = trainer.save(tmp_path / "adapter")
    data = Path(info["path"]).read_bytes()
    assert info["bytes"] == len(data) and info["sha256"] == hashlib.sha256(data).hexdigest()
    assert len(data) < 2_000_000  # LoRA only, no embeddings
    trainer.reset()
    assert torch.equal(_logits(trainer.model, ids), base_logits)
    trainer.load(tmp_path / "adapter")
    assert torch.equal(_logits(trainer.model, ids), trained)


def test_in_memory_snapshot_round_trip(setup):
    trainer, tok, _ = setup
    ids = _probe(tok)
    trainer.train(_examples(tok))
    snap, trained = trainer.lora_state(), _logits(trainer.model, ids)
    trainer.train(_examples(tok))
    trainer.load_lora_state(snap)
    assert torch.equal(_logits(trainer.model, ids), trained)


def test_tokenize_masks_prompt_and_learns_eot(setup):
    trainer, tok, _ = setup
    ex = _examples(tok)[0]
    seq = trainer._tokenize(ex, trainer.settings.max_seq_len)
    n_prompt = len(tok(ex.prompt, add_special_tokens=False)["input_ids"])
    eot = tok.convert_tokens_to_ids("<|eot_id|>")
    assert seq.labels[:n_prompt] == [-100] * n_prompt
    assert seq.labels[n_prompt:] == seq.input_ids[n_prompt:] and seq.labels[-1] == eot
    short = trainer._tokenize(ex, len(seq.input_ids) - 5)  # prompt loses 5 tokens on the left
    assert short.input_ids == seq.input_ids[5:] and short.labels == seq.labels[5:]
    with pytest.warns(UserWarning, match="max_seq_len"):  # response alone does not fit: skipped
        assert trainer._tokenize(ex, 10) is None
    with pytest.warns(UserWarning):
        assert trainer.train([ex], dataclasses.replace(trainer.settings, max_seq_len=10)).steps == 0


def test_one_calls_settings_leave_the_trainers_own_alone(setup):
    """What the loop does after an out of memory: the same examples, fewer tokens per step."""
    trainer, tok, _ = setup
    own = dataclasses.replace(trainer.settings)
    examples = _examples(tok)
    report = trainer.train(examples, dataclasses.replace(own, epochs=2, batch_tokens=1))
    assert report.error is None and report.steps == 2 * len(examples)  # one example per step
    assert trainer.settings == own
    seqs = [trainer._tokenize(e, own.max_seq_len) for e in examples]
    assert trainer.train(examples).steps == len(_pack(seqs, own.batch_tokens, tok.pad_token_id)) < 3


def test_packing_respects_batch_tokens(setup):
    trainer, tok, _ = setup
    seqs = [trainer._tokenize(e, trainer.settings.max_seq_len) for e in _examples(tok) * 3]
    longest = max(len(s.input_ids) for s in seqs)
    batches = _pack(seqs, 2 * longest, tok.pad_token_id)
    assert sum(b[0].shape[0] for b in batches) == 9
    for ids, labels, mask in batches:
        assert ids.numel() <= 2 * longest
        assert torch.all(labels[mask == 0] == -100) and torch.all(ids[mask == 0] == tok.pad_token_id)
        assert torch.all(mask[:, 0] == 1)  # right padding


def test_gradient_checkpointing_and_continued_optimizer(tiny_model_dir):
    model, tok = load_model(str(tiny_model_dir))
    settings = dataclasses.replace(FAST, gradient_checkpointing=True, continue_optimizer=True)
    trainer = LoraTrainer(model, tok, settings)
    assert any(getattr(m, "gradient_checkpointing", False) is True for m in model.modules())
    first = trainer.train(_examples(tok))
    optimizer = trainer._optimizer
    second = trainer.train(_examples(tok))
    assert first.error is None and second.loss < first.loss
    assert trainer._optimizer is optimizer  # moments carried over
    trainer.reset()
    assert trainer._optimizer is None


@pytest.mark.parametrize("trainer_class", [LoraTrainer, FastLoraTrainer])
def test_padding_to_a_multiple_changes_shapes_not_learning(tiny_model_dir, trainer_class):
    """Widths rounded up to a multiple of 64 give the same loss and the same LoRA weights (the
    fast trainer attends without a mask: right pads come after every real token)."""
    def run(multiple):
        model, tok = load_model(str(tiny_model_dir))
        torch.manual_seed(0)
        settings = dataclasses.replace(FAST, pad_to_multiple=multiple)
        trainer = trainer_class(model, tok, settings)
        examples = _examples(tok)
        seqs = [trainer._tokenize(e, settings.max_seq_len) for e in examples]
        widths = [b[0].shape[1] for b in _pack(seqs, settings.batch_tokens, tok.pad_token_id, 0, multiple)]
        report = trainer.train(examples)
        return widths, report, trainer.lora_state()

    exact_widths, exact, exact_state = run(0)
    padded_widths, padded, padded_state = run(64)
    assert all(w % 64 == 0 for w in padded_widths) and exact_widths != padded_widths
    assert padded.error is None and padded.tokens == exact.tokens and padded.steps == exact.steps
    assert padded.loss == pytest.approx(exact.loss, rel=1e-5)
    for name, tensor in exact_state.items():
        # float sums in another order (other matmul shapes): 3e-6 seen; a pad that leaked in
        # would move the weights by the size of a step
        torch.testing.assert_close(padded_state[name], tensor, rtol=1e-3, atol=1e-5)
