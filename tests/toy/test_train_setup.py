"""The toy trainer's setup in worker processes gives the serial setup's tokenizer and examples,
example for example, in the same order, with the same validation cut and the same count of
sequences too long (train_setup.py)."""
from __future__ import annotations

import json

import numpy as np
import pytest

from arcfarm.toy import train_setup
from arcfarm.toy.conjugate import augment_file
from arcfarm.toy.train import SIZES, TrainSettings, setup


@pytest.fixture(scope="module")
def augmented(toy_data, tmp_path_factory):
    out = tmp_path_factory.mktemp("setup") / "train.aug3.jsonl"
    augment_file(toy_data["train"], out, frames=3, seed=0)
    lines = out.read_text().splitlines()
    # a held-out line and a blank line: both are not training tasks, in either path
    held = json.dumps({**json.loads(lines[0]), "id": "held-0", "split": "heldout"})
    out.write_text("\n".join(lines[:5] + [held, ""] + lines[5:]) + "\n")
    return out


def _setup(path, workers, max_len):
    s = TrainSettings(tasks=path, out=path.parent / "unused", size="tiny", augment_workers=workers,
                      max_len=max_len, val_fraction=0.05)
    return setup(path, s, SIZES["tiny"])


def test_the_parallel_setup_is_the_serial_one(augmented, monkeypatch):
    monkeypatch.setattr(train_setup, "CHUNK", 7)  # many chunks, so their order matters
    serial = _setup(augmented, 1, 2048)
    lengths = sorted(len(e.ids) for e in serial[3])
    max_len = lengths[len(lengths) // 2]  # about half the examples too long
    serial = _setup(augmented, 1, max_len)
    parallel = _setup(augmented, 2, max_len)
    tok_s, n_s, val_s, train_s, long_s = serial
    tok_p, n_p, val_p, train_p, long_p = parallel
    assert tok_s.get_vocab() == tok_p.get_vocab()
    assert n_s == n_p > 100 and long_s == long_p > 0
    assert len(val_s) == len(val_p) > 0 and len(train_s) == len(train_p) > 0
    for a, b in zip(val_s + train_s, val_p + train_p):
        assert a.n_prompt == b.n_prompt and np.array_equal(a.ids, b.ids) and b.ids.dtype == np.int32


def test_the_frames_of_a_task_stay_on_one_side_of_the_cut():
    ids = ["a-aug1", "a-aug2", "b", "c-aug1", "c-aug2", "c-aug3"]
    assert train_setup.whole_task_cut(ids, 1) == 2
    assert train_setup.whole_task_cut(ids, 4) == 6
    assert train_setup.whole_task_cut(ids, 0) == 0
    order = train_setup.shuffled_groups(ids, seed=3)
    bases = [train_setup.base_id(ids[i]) for i in order]
    assert sorted(order) == list(range(6)) and bases == sorted(bases, key=bases.index)


def test_a_file_without_training_tasks_is_refused(tmp_path):
    path = tmp_path / "held.jsonl"
    path.write_text(json.dumps({"id": "h", "split": "heldout"}) + "\n")
    with pytest.raises(ValueError, match="no training tasks"):
        _setup(path, 2, 2048)


def test_a_deadline_shortens_training_and_refuses_when_setup_used_it_up():
    from pathlib import Path

    from arcfarm.toy.train import SAVE_MARGIN_S, training_budget_s
    s = TrainSettings(tasks=Path("t.jsonl"), out=Path("o"), minutes=7)
    assert training_budget_s(s, setup_s=100) == 420  # no deadline: the minutes asked for
    s.deadline_minutes = 9
    assert training_budget_s(s, setup_s=100) == 540 - 100 - SAVE_MARGIN_S
    s.deadline_minutes = 10
    assert training_budget_s(s, setup_s=100) == 420  # the deadline leaves more than asked
    s.deadline_minutes = 2
    with pytest.raises(RuntimeError, match="setup took 100 s: no training time is left"):
        training_budget_s(s, setup_s=100)
