"""The frame-preference measurement: nine frames per task, and its counts of valid, train-passing
and solving programs agree with what each frame's program really does."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from transformers import AutoTokenizer

from arcfarm.arc.prompts import response_text
from arcfarm.arc.tasks import parse_task
from arcfarm.learn.engines.base import Completion
from arcfarm.sandbox import Executor
from arcfarm.toy.frame_preference import frames_for, measure_task, summarize
from arcfarm.toy.synth import load_jsonl, run_program_text

ROOT = Path(__file__).resolve().parents[2]


class OneProgramEngine:
    """Writes the same program for every prompt: the sampler is not what is measured here."""

    def __init__(self, tokenizer, code: str):
        self.tokenizer, self.code = tokenizer, code

    def generate(self, prompts, n, params, adapter=None, *, batch_size=None):
        return [[Completion(response_text(self.code), 10, 5, "stop") for _ in range(n)] for _ in prompts]


def test_frames_are_identity_colours_then_the_seven_other_transforms():
    frames = frames_for("task-a", seed=0)
    assert [f.group for f in frames] == ["identity", "colours"] + ["dihedral"] * 7
    assert frames[0].aug.is_identity and frames[1].aug.dihedral == 0 and not frames[1].aug.is_identity
    assert sorted(f.aug.dihedral for f in frames[2:]) == list(range(1, 8))
    assert all(f.aug.colors[0] == 0 for f in frames)  # background kept, as the loop does
    assert frames_for("task-a", seed=0) == frames and frames_for("task-b", seed=0) != frames


@pytest.mark.parametrize("index", [0, 2, 6])
def test_counts_match_what_the_program_does_in_each_frame(index):
    """The task's own program solves its identity frame; in another frame it passes the train pairs
    (solves the test) only where it commutes with that frame's augmentation on those grids, which
    is decided here independently (the program run directly, outputs compared in the frame)."""
    rec = load_jsonl(ROOT / "data/toy/heldout.jsonl")[index]
    task, solutions = parse_task(rec["id"], rec)
    tokenizer = AutoTokenizer.from_pretrained(ROOT / "models/toy")
    engine = OneProgramEngine(tokenizer, rec["code"])
    with Executor(workers=2, timeout_s=5.0) as ex:
        rows = measure_task(engine, ex, task, solutions, samples=2, seed=0, temperature=1.0, max_new_tokens=8)
    assert len(rows) == 9 and rows[0]["group"] == "identity"
    assert rows[0]["valid"] == rows[0]["passes_train"] == rows[0]["solved"] == 2
    inputs = [p.input for p in task.train] + list(task.test_inputs)
    outputs = [p.output for p in task.train] + solutions
    for frame, row in zip(frames_for(task.id, 0), rows):
        got = run_program_text(rec["code"], [frame.aug.apply_grid(g) for g in inputs])
        right = [np.array_equal(g, frame.aug.apply_grid(o)) for g, o in zip(got, outputs)]
        n_train = len(task.train)
        assert row["valid"] == 2, (task.id, row)
        assert row["passes_train"] == (2 if all(right[:n_train]) else 0), (task.id, row)
        assert row["solved"] == (2 if all(right[n_train:]) else 0), (task.id, row)


def test_summary_pairs_identity_with_augmented_per_task():
    def row(task, group, solved, valid=4):
        return {"task": task, "group": group, "samples": 4, "valid": valid, "passes_train": solved,
                "solved": solved}

    rows = [row("a", "identity", 4), row("a", "colours", 2), row("a", "dihedral", 0),
            row("b", "identity", 0), row("b", "colours", 0), row("b", "dihedral", 2)]
    s = summarize(rows)
    assert s["groups"]["identity"]["solved"] == 0.5 and s["groups"]["augmented"]["solved"] == 0.25
    assert [t["solved_identity_minus_augmented"] for t in s["per_task"]] == [0.75, -0.25]
    paired = s["identity_minus_augmented"]["solved"]
    assert paired == {"mean_difference": 0.25, "tasks_identity_higher": 1, "tasks_augmented_higher": 1,
                      "tasks_equal": 0}


def test_cli_refuses_bad_counts_and_non_synthetic_tasks(tmp_path):
    from typer.testing import CliRunner

    from arcfarm.cli.main import app

    bad = CliRunner().invoke(app, ["toy", "frames", "--samples", "0"])
    assert bad.exit_code == 2 and "--samples >= 1" in bad.output
    plain = tmp_path / "plain.jsonl"
    plain.write_text('{"id": "p", "train": [{"input": [[1]], "output": [[2]]}], "test": [{"input": [[1]]}]}\n')
    refused = CliRunner().invoke(app, ["toy", "frames", "--tasks", str(plain), "--limit", "0"])
    assert refused.exit_code == 2 and "needs synthetic tasks" in refused.output


def test_cli_probe_on_one_task_writes_nine_frames(tmp_path):
    from typer.testing import CliRunner

    from arcfarm.cli.main import app

    out = tmp_path / "frames.json"
    result = CliRunner().invoke(app, ["toy", "frames", "--limit", "0", "--likelihood-limit", "1",
                                      "--out", str(out)])
    assert result.exit_code == 0, result.output
    data = json.loads(out.read_text())
    assert len(data["likelihood"]["rows"]) == 9 and "sampling" not in data
    assert data["machine"]["cpus"] >= 1 and data["likelihood"]["groups"]["identity"]["expressible"] == 1.0
