"""Augmented training data: each task in the loop's frames, with a program that solves the task in
that frame (checked in the real sandbox), and `toy train --augment-frames` trains on it."""
from __future__ import annotations

import json
from itertools import groupby

import numpy as np
import pytest

from arcfarm.arc.augment import DIHEDRAL_NAMES, IDENTITY, Augmentation
from arcfarm.sandbox import Executor, ProgramRun
from arcfarm.toy.conjugate import (
    _GEOMETRIC,
    augment_file,
    augment_record,
    augment_task,
    direction_under,
    geometric_under,
)
from arcfarm.toy.primitives import compile_helpers
from arcfarm.toy.synth import load_jsonl
from arcfarm.toy.train import (
    TrainSettings,
    load_tasks,
    shuffled_by_task,
    train,
    whole_task_cut,
)
from arcfarm.toy.train_setup import base_id

PLAIN = tuple(range(10))


def _grid(seed: int, shape=(3, 5)) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 10, size=shape)


@pytest.mark.parametrize("d", range(8))
def test_mapped_primitives_act_as_conjugates(d):
    """D . step . D^-1 equals the mapped step on grids of several shapes."""
    aug = Augmentation(d, PLAIN)
    helpers = compile_helpers()
    for seed, shape in enumerate([(3, 5), (4, 4), (6, 2)]):
        x = _grid(seed, shape)
        back = np.asarray(Augmentation(next(e for e in range(8) if np.array_equal(
            Augmentation(e, PLAIN).apply_grid(aug.apply_grid(x)), x)), PLAIN).apply_grid(x))
        for name in _GEOMETRIC:
            mapped = geometric_under(d, name)
            want = np.asarray(aug.apply_grid(helpers[name](back)))
            if mapped is not None:
                assert np.array_equal(helpers[mapped](x), want), (DIHEDRAL_NAMES[d], name, mapped)
        for direction in ("up", "down", "left", "right"):
            got = helpers["shift"](x, direction_under(d, direction), 1)
            assert np.array_equal(got, aug.apply_grid(helpers["shift"](back, direction, 1))), direction


def test_a_frame_without_a_conjugate_in_the_primitives_is_skipped():
    rec = {"id": "t", "kind": "small", "steps": [{"name": "mirror_right", "params": {}}],
           "train": [{"input": [[1, 2], [3, 0]], "output": [[1, 2, 2, 1], [3, 0, 0, 3]]}],
           "test": [{"input": [[4, 5]], "output": [[4, 5, 5, 4]]}], "code": ""}
    # mirrored copy on the left: not a primitive
    assert augment_record(rec, Augmentation(DIHEDRAL_NAMES.index("fliplr"), PLAIN)) is None
    down = augment_record(rec, Augmentation(DIHEDRAL_NAMES.index("transpose"), PLAIN))
    assert down is not None and down["steps"] == [{"name": "mirror_down", "params": {}}]


@pytest.fixture(scope="module")
def augmented(toy_data):
    records = toy_data["train_tasks"][:24]
    return records, [augment_task(r, 4, seed=0) for r in records]


def test_frames_are_drawn_as_the_loop_draws_them(augmented):
    records, results = augmented
    written = sum(c["written"] for _, c in results)
    assert written > 0.6 * 4 * len(records)  # most frames have a conjugate
    for rec, (frames, counts) in zip(records, results):
        assert counts["written"] + counts["no_conjugate"] == 4
        assert frames[0]["id"] == rec["id"] and frames[0]["augmentation"] == IDENTITY.to_json()
        dihedrals = [f["augmentation"]["dihedral"] for f in frames]
        assert len(set(dihedrals)) == len(dihedrals)
        assert all(f["augmentation"]["colors"][0] == 0 for f in frames)
        assert all(base_id(f["id"]) == rec["id"] for f in frames)


def test_augmented_grids_are_the_frames_of_the_originals(augmented):
    records, results = augmented
    for rec, (frames, _) in zip(records, results):
        for f in frames:
            aug = Augmentation.from_json(f["augmentation"])
            for old, new in zip(rec["train"] + rec["test"], f["train"] + f["test"]):
                assert np.array_equal(aug.apply_grid(np.array(old["input"])), np.array(new["input"]))
                assert np.array_equal(aug.apply_grid(np.array(old["output"])), np.array(new["output"]))


def test_every_written_program_solves_its_frame_in_the_sandbox(augmented):
    frames = [f for fs, _ in augmented[1] for f in fs]
    runs = [ProgramRun(f["code"], tuple(np.array(p["input"]) for p in f["train"] + f["test"])) for f in frames]
    with Executor(workers=2, timeout_s=5.0) as ex:
        results = ex.run(runs)
    for f, res in zip(frames, results):
        assert res.ok, (f["id"], res.error, res.message)
        expected = [np.array(p["output"]) for p in f["train"] + f["test"]]
        assert all(np.array_equal(g, e) for g, e in zip(res.outputs, expected)), f["id"]


def test_augmented_training_keeps_frames_of_a_task_on_one_side(toy_data, tmp_path):
    tasks_file = tmp_path / "train.jsonl"
    tasks_file.write_text(toy_data["train"].read_text())
    logs: list[dict] = []
    summary = train(TrainSettings(tasks=tasks_file, out=tmp_path / "model", tiny_steps=1,
                                  batch_tokens=4096, warmup_steps=1, augment_frames=3), logs.append)
    aug_file = tmp_path / "train.aug3.jsonl"
    assert summary["augmented"]["tasks"] == 60 and summary["augmented"]["out"] == str(aug_file)
    assert len(load_jsonl(aug_file)) == summary["augmented"]["written"] > 60
    assert summary["steps"] == 1 and (tmp_path / "model" / "model.safetensors").exists()
    assert [r["event"] for r in logs if "event" in r] == ["augment", "setup"]
    tasks = shuffled_by_task(load_tasks(aug_file), seed=0)
    ids = [base_id(t.id) for t, _ in tasks]
    assert len([key for key, _ in groupby(ids)]) == len(set(ids))  # each task's frames adjacent
    cut = whole_task_cut(tasks, 5)
    assert cut >= 5 and not {base_id(t.id) for t, _ in tasks[:cut]} & {base_id(t.id) for t, _ in tasks[cut:]}


def test_augment_file_refuses_what_it_cannot_use(tmp_path):
    with pytest.raises(ValueError, match="frames must be >= 1"):
        augment_file(tmp_path / "x.jsonl", tmp_path / "y.jsonl", frames=0)
    held = tmp_path / "held.jsonl"
    held.write_text(json.dumps({"id": "h", "split": "heldout"}) + "\n")
    with pytest.raises(ValueError, match="no training tasks"):
        augment_file(held, tmp_path / "y.jsonl", frames=2)


def test_augment_file_is_reproducible_and_the_same_in_parallel(toy_data, tmp_path):
    one = augment_file(toy_data["train"], tmp_path / "one.jsonl", frames=2, seed=1, workers=1)
    two = augment_file(toy_data["train"], tmp_path / "two.jsonl", frames=2, seed=1, workers=2)
    assert (tmp_path / "one.jsonl").read_text() == (tmp_path / "two.jsonl").read_text()
    assert one["written"] == two["written"] == len(load_jsonl(tmp_path / "one.jsonl"))
