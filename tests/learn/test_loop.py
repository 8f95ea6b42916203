"""The search-and-learn loop on the tiny model: budgets honoured, deterministic, no leakage."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from arcfarm.arc.datasets import load_taskset

# A real ARC-AGI-1 training task with small grids (a 2-epoch run stays well under a minute).
TASK_ID = "6150a2bd"  # rotate by 180 degrees, 3x3 grids


@pytest.fixture(scope="module")
def task_files(tmp_path_factory):
    """The task with its true test outputs, and the same task with garbage test outputs."""
    taskset = load_taskset("arc-agi-1/training")
    task = next(t for t in taskset.tasks if t.id == TASK_ID)
    body = task.to_json()
    true = {"train": body["train"], "test": [
        {"input": t["input"], "output": s.tolist()}
        for t, s in zip(body["test"], taskset.solutions[TASK_ID])]}
    garbage = {"train": body["train"], "test": [
        {"input": t["input"], "output": [[7] * 5] * 4} for t in body["test"]]}
    root = tmp_path_factory.mktemp("tasks")
    (root / "true").mkdir()
    (root / "garbage").mkdir()
    (root / "true" / f"{TASK_ID}.json").write_text(json.dumps(true))
    (root / "garbage" / f"{TASK_ID}.json").write_text(json.dumps(garbage))
    return root / "true" / f"{TASK_ID}.json", root / "garbage" / f"{TASK_ID}.json"


def _solve(task_file: Path, model_dir: Path, adapters: Path, *extra: str) -> dict:
    cmd = [sys.executable, "-m", "arcfarm.cli", "solve", str(task_file), "--json",
           "--config", "tiny-cpu", "--set", f"model={model_dir}", "--set", "initial_predictions=8",
           "--set", "predictions_per_epoch=4", "--set", "max_epochs=2",
           "--set", "max_new_tokens=48", "--set", "relabel_min_train_correct=0",
           "--adapters", str(adapters), *extra]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=300,
                         env={"PATH": "/usr/bin:/bin", "HF_HUB_OFFLINE": "1",
                              "OMP_NUM_THREADS": "1"})
    assert out.returncode == 0, out.stderr[-3000:]
    lines = [json.loads(line) for line in out.stdout.splitlines() if line.startswith("{")]
    assert len(lines) == 1
    return lines[0]


def _adapter_hashes(root: Path) -> dict[str, str]:
    import hashlib
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*.safetensors"))}


@pytest.fixture(scope="module")
def runs(task_files, tiny_model_dir, tmp_path_factory):
    true_file, garbage_file = task_files
    root = tmp_path_factory.mktemp("adapters")
    first = _solve(true_file, tiny_model_dir, root / "a")
    again = _solve(true_file, tiny_model_dir, root / "b")
    garbage = _solve(garbage_file, tiny_model_dir, root / "c")
    return first, again, garbage, root


def test_budgets_are_honoured_per_epoch(runs):
    first, *_ = runs
    assert [e["predictions"] for e in first["epochs"]] == [8, 4, 4]
    assert [e["epoch"] for e in first["epochs"]] == [0, 1, 2]
    for key in ("valid", "relabeled", "train_loss", "sample_s", "execute_s", "train_s"):
        assert all(key in e for e in first["epochs"])
    assert first["task_id"] == TASK_ID and isinstance(first["score"], float)


def _without_timings(result: dict) -> dict:
    drop = {"sample_s", "execute_s", "relabel_s", "train_s", "reset_s"}
    return {"epochs": [{k: v for k, v in e.items() if k not in drop} for e in result["epochs"]],
            "attempts": result["attempts"]}


def test_same_seed_same_results(runs):
    first, again, _, root = runs
    assert _without_timings(first) == _without_timings(again)
    assert _adapter_hashes(root / "a") == _adapter_hashes(root / "b")
    assert _adapter_hashes(root / "a"), "no adapter was saved"


def test_solutions_never_reach_the_loop(runs):
    """Garbage test outputs change the score only: predictions, adapters and attempts are equal."""
    first, _, garbage, root = runs
    assert _without_timings(first) == _without_timings(garbage)
    assert _adapter_hashes(root / "a") == _adapter_hashes(root / "c")
    assert garbage["score"] == 0.0
