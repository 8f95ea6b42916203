"""Learning from history on the tiny model, on a CPU: recorded programs relabeled into BARC chat
examples, trained with trl's SFTTrainer for a few steps, the adapter saved and fitting the loop's
per-task LoRA. Needs the learn extra (trl), which CI installs."""
from __future__ import annotations

import hashlib

import pytest
import torch

from arcfarm.arc.prompts import ANSWER_PREFIX, response_text
from arcfarm.learn.config import load_config
from arcfarm.learn.history import HistoryProgram, history_examples
from arcfarm.learn.history_train import _rows, train_on_history
from arcfarm.learn.model import load_model
from arcfarm.learn.solver import lora_settings
from arcfarm.learn.trainer import ADAPTER_FILE, LoraTrainer

pytest.importorskip("trl")  # the learn extra; `make` installs it with the test extra

TASK = {"train": [{"input": [[1, 2], [3, 4]], "output": [[2, 1], [4, 3]]},
                  {"input": [[5, 0]], "output": [[0, 5]]}],
        "test": [{"input": [[7, 8]]}]}
FLIP = "from common import *\n\ndef transform(input_grid):\n    return input_grid[:, ::-1]\n"
SAME = "from common import *\n\ndef transform(input_grid):\n    return input_grid\n"


@pytest.fixture(autouse=True)
def _one_thread():
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def programs() -> list[HistoryProgram]:
    # A correct flip (identity augmentation) and a wrong identity program under a transpose and
    # a colour swap: it is relabeled as the solution of the task its own outputs define.
    ident = {"dihedral": 0, "colors": list(range(10))}
    swap = {"dihedral": 6, "colors": [0, 2, 1, 3, 4, 5, 6, 7, 8, 9]}
    return [HistoryProgram("t", TASK, 1, ident, response_text(FLIP), [[[2, 1], [4, 3]], [[0, 5]]],
                           2, "f" * 64, 1),
            HistoryProgram("t", TASK, 2, swap, response_text(SAME), [[[1, 2], [3, 4]], [[5, 0]]],
                           0, "e" * 64, 2)]


def config(tiny_model_dir, **values):
    return load_config("tiny-cpu", values={"model": str(tiny_model_dir), "max_seq_len": 2048,
                                           "train_batch_tokens": 4096, **values})


def test_examples_are_relabeled_in_their_augmented_space(tiny_model_dir):
    _, tok = load_model(str(tiny_model_dir), dtype="float32", device="cpu")
    flip, same = history_examples(programs(), tok)
    assert "Blue Red\nGreen Yellow" in flip.prompt  # [[1,2],[3,4]] as the prompt showed it
    assert flip.response == response_text(FLIP).strip() and flip.response.startswith(ANSWER_PREFIX)
    # The identity program under transpose + red/blue swap: its relabeled output is its input.
    assert "Input:\nRed Green\nBlue Yellow\n\nOutput:\nRed Green\nBlue Yellow" in same.prompt
    rows = _rows(tok, [flip], 2048)
    ids, labels = rows[0]["input_ids"], rows[0]["labels"]
    n_prompt = len(tok(flip.prompt, add_special_tokens=False)["input_ids"])
    assert labels[:n_prompt] == [-100] * n_prompt  # loss on the response only
    assert labels[n_prompt:] == ids[n_prompt:] and ids[-1] == tok.convert_tokens_to_ids("<|eot_id|>")


def test_trl_training_learns_and_saves_an_adapter_the_loop_can_load(tiny_model_dir, tmp_path):
    cfg = config(tiny_model_dir, train_epochs_per_round=4, learning_rate=3e-3)
    model, tok = load_model(str(tiny_model_dir), dtype="float32", device="cpu")
    before = {n: p.detach().clone() for n, p in model.named_parameters()}
    seen = []
    report = train_on_history(cfg, history_examples(programs(), tok), tmp_path / "adapter",
                              model=model, tokenizer=tok,
                              progress=lambda step, total, loss: seen.append((step, total)))
    assert report.examples == 2 and report.skipped == 0 and report.steps == 4
    assert [s for s, _ in seen] == [1, 2, 3, 4] and {t for _, t in seen} == {4}
    losses = [loss for _, loss in report.loss_curve]
    assert len(losses) == 4 and losses[-1] < losses[0]
    data = (tmp_path / "adapter" / ADAPTER_FILE).read_bytes()
    assert report.adapter_sha256 == hashlib.sha256(data).hexdigest()
    assert report.tokens == sum(len(r["input_ids"]) for r in _rows(tok, history_examples(programs(), tok), 2048))
    # The base model is handed back as it was (trl's LoRA unloaded), and trl's default of
    # gradient checkpointing did not override the config's (false).
    assert not model.is_gradient_checkpointing
    after = dict(model.named_parameters())
    assert set(after) == set(before)
    assert all(torch.equal(after[n], before[n]) for n in before)
    # The adapter has the structure of the loop's per-task LoRA of the same config.
    trainer = LoraTrainer(model, tok, lora_settings(cfg))
    trainer.load(tmp_path / "adapter")
    assert any(p.abs().sum() > 0 for n, p in trainer.model.named_parameters() if "lora_B" in n)


def test_history_training_takes_the_loops_batch_and_schedule_keys():
    """train_examples_per_step caps the batch (1 = the reference); the schedule maps by name."""
    from arcfarm.learn.config import RunConfig
    from arcfarm.learn.history_train import SCHEDULERS, batch_size_for

    rows = [{"input_ids": [0] * 100}] * 10
    assert batch_size_for(RunConfig(train_batch_tokens=1000), rows) == 10
    assert batch_size_for(RunConfig(train_batch_tokens=1000, train_examples_per_step=1), rows) == 1
    assert batch_size_for(RunConfig(train_batch_tokens=50, train_examples_per_step=4), rows) == 1
    assert set(SCHEDULERS) == set(RunConfig.model_fields["lr_schedule"].annotation.__args__)
