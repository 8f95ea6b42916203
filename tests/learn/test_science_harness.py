"""`arcfarm bench science` end to end on the tiny model (its programs never run, so every number
is 0; the test is about the schema, the arms and the validation/test separation)."""
from __future__ import annotations

import json
import os

from typer.testing import CliRunner

from arcfarm.cli.main import app


def _tasks(path, n):
    with open(path, "w") as f:
        for i in range(n):
            f.write(json.dumps({"id": f"fam-{i}", "train": [{"input": [[i % 9 + 1, 0]], "output": [[0, i % 9 + 1]]},
                                                           {"input": [[2, 3]], "output": [[3, 2]]}],
                                "test": [{"input": [[4, 0]], "output": [[0, 4]]}]}) + "\n")


def test_bench_science_writes_the_issue_schema(tiny_model_dir, tmp_path, monkeypatch):
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    _tasks(tmp_path / "fam.jsonl", 4)
    out, plots = tmp_path / "science.json", tmp_path / "plots"
    res = CliRunner().invoke(app, [
        "bench", "science", "--family", f"fam={tmp_path / 'fam.jsonl'}", "--model", str(tiny_model_dir),
        "--budget", "8", "--seeds", "1", "--val-tasks", "1", "--test-tasks", "2",
        "--recipes", "reference-lr1e-4", "--workers", "2", "--out", str(out), "--plots", str(plots),
        "--set", "samples_per_prompt=2", "--set", "max_new_tokens=8", "--set", "device=cpu",
        "--set", "dtype=float32"])
    assert res.exit_code == 0, res.output
    result = json.loads(out.read_text())
    fam = result["families"]["fam"]
    assert fam["n_tasks"] == 2
    assert set(fam["arms"]) == {"sampling-only", "learning-off", "committed", "reference-lr1e-4"}
    for arm in fam["arms"].values():
        assert len(arm["pass_at_2"]) == len(arm["pass_at_n"]) == 1
        assert len(arm["pass_curve"]) == 8
    assert fam["ci95_learning_minus_off"] == [0.0, 0.0]
    val_ids = result["validation"]["tasks"]["fam"]
    assert len(val_ids) == 1 and not set(val_ids) & set(fam["task_ids"])
    assert result["validation"]["chosen"] == "reference-lr1e-4"
    assert set(result["validation"]["arms"]) == {"learning-off", "reference-lr1e-4"}
    assert result["arms"]["learning-off"]["learning"] is False
    assert {"gpu", "commit", "settings"} <= set(result)
    assert result["mps"] is ("CUDA_MPS_PIPE_DIRECTORY" in os.environ)
    for r in result["runs"]:  # where each run's time went, so a slow GPU call can be explained
        assert set(r["phase_s"]) == {"sample", "execute", "relabel", "train", "reset"}
        assert 0 < sum(r["phase_s"].values()) <= r["seconds"] + 0.03  # five phases, each rounded to 0.01
    assert (plots / "fam.png").exists() or (plots / "fam.svg").exists()


def test_an_arm_that_changes_prompts_is_refused(tmp_path):
    from arcfarm.bench import science

    science.RECIPES["hot"] = {"temperature": 2.0}
    try:
        _tasks(tmp_path / "f.jsonl", 3)
        import pytest
        with pytest.raises(ValueError, match="arm hot sets prompt keys"):
            science.run({"f": str(tmp_path / "f.jsonl")}, recipes=["hot"], val_tasks=1)
    finally:
        del science.RECIPES["hot"]


def test_a_chosen_recipe_and_a_deadline_report_only_paired_finished_tasks(tiny_model_dir, tmp_path,
                                                                         monkeypatch):
    """--chosen skips validation (the earlier run's table is kept); a deadline stops new runs, and
    a family reports only the tasks every arm finished (here: the first of three)."""
    from arcfarm.bench import science

    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    _tasks(tmp_path / "f.jsonl", 4)
    earlier = {"arms": {"learning-off": {"pass_at_n": 0.5}}, "chosen": "reference-lr1e-4"}
    result = science.run({"f": str(tmp_path / "f.jsonl")}, model=str(tiny_model_dir), budget=8, seeds=1,
                         val_tasks=1, test_tasks=3, workers=1, deadline_s=0.001,
                         test_arms=("learning-off",), chosen="reference-lr1e-4", validation_from=earlier,
                         overrides=["samples_per_prompt=2", "max_new_tokens=8", "device=cpu",
                                    "dtype=float32"])
    assert result["validation"]["from_earlier_run"] and result["validation"]["arms"] == earlier["arms"]
    assert not any(r["phase"] == "validation" for r in result["runs"])
    assert result["not_run"]["stopped_by_deadline"]
    fam = result["families"]["f"]
    assert set(fam["arms"]) == {"learning-off", "reference-lr1e-4"}
    finished = fam["task_ids"]
    assert len(finished) == 1 and len(result["not_run"]["test_tasks_not_finished"]["f"]) == 2
    ran = {(r["arm"], r["task"]) for r in result["runs"]}
    assert {("learning-off", finished[0]), ("reference-lr1e-4", finished[0])} <= ran
    assert len(ran) == 3  # the three runs in flight when the deadline passed, nothing started after


def test_the_cli_refuses_a_chosen_recipe_without_the_validation_that_chose_it(tmp_path):
    """`arcfarm bench science --chosen` must rest on a recorded validation, as `python -m` does."""
    earlier = tmp_path / "earlier.json"
    earlier.write_text(json.dumps({"validation": {"chosen": "top8-lr1e-4"}}))
    for extra in ([], ["--validation-from", str(earlier)]):
        result = CliRunner().invoke(app, ["bench", "science", "--chosen", "new-outputs-lr1e-4", *extra])
        assert result.exit_code == 2 and "--validation-from must be a result whose validation chose it" in result.output


def test_runs_an_earlier_call_finished_are_not_run_again(tiny_model_dir, tmp_path):
    """--skip-runs-in: a continuation runs only what is missing; --seed-from names the seeds."""
    from arcfarm.bench import science

    _tasks(tmp_path / "f.jsonl", 3)
    ids = [t for t in science.split([f"fam-{i}" for i in range(3)], 0, 3)[1]]
    earlier = tmp_path / "earlier.json"
    earlier.write_text(json.dumps({"runs": [{"phase": "test", "family": "f", "arm": "learning-off",
                                             "seed": 5, "task": t} for t in ids]
                                   # with --chosen, validation runs may be skipped too
                                   + [{"phase": "validation", "family": "f", "arm": "learning-off",
                                       "seed": 100, "task": ids[0]}]}))
    skip = science.finished_runs([earlier])
    result = science.run({"f": str(tmp_path / "f.jsonl")}, model=str(tiny_model_dir), budget=8, seeds=1,
                         seed_from=5, val_tasks=0, test_tasks=3, test_arms=("learning-off",),
                         chosen="committed", skip=skip,
                         overrides=["samples_per_prompt=2", "max_new_tokens=8", "device=cpu",
                                    "dtype=float32"])
    assert result["settings"]["seeds_asked"] == [5]
    assert result["runs"] == [] and result["families"] == {}
    assert result["settings"]["runs_skipped_as_finished_earlier"] == 3
    earlier.write_text(json.dumps({"runs": [["test", "f"]]}))
    import pytest
    with pytest.raises(ValueError, match="cannot be skipped"):
        science.finished_runs([earlier])
    with pytest.raises(ValueError, match="missing.json"):
        science.finished_runs([tmp_path / "missing.json"])


def test_a_continuation_without_the_earlier_choice_is_refused(tmp_path, monkeypatch):
    """Skipping validation runs would leave the choice to an empty table: refused with the way out."""
    import pytest

    from arcfarm.bench import science

    def no_runs(workers):
        raise AssertionError("the continuation started runs")
    monkeypatch.setattr(science, "_pool", no_runs)

    _tasks(tmp_path / "f.jsonl", 3)
    skip = frozenset({("validation", "f", "learning-off", 100, "fam-0")})
    with pytest.raises(ValueError, match="--chosen and --validation-from"):
        science.run({"f": str(tmp_path / "f.jsonl")}, val_tasks=1, test_tasks=2, skip=skip)


def test_a_killed_calls_checkpoint_is_merged_like_a_result(tiny_model_dir, tmp_path, monkeypatch):
    """The checkpoint written after each run carries the settings and the choice, so the runs of
    a call killed at a hard limit are tabled by science-merge, not lost."""
    from arcfarm.bench import science
    from arcfarm.bench.science_merge import merge

    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    _tasks(tmp_path / "f.jsonl", 2)
    saved = []
    earlier = {"chosen": "reference-lr1e-4", "tasks": {"g": ["g-1"]}}
    science.run({"f": str(tmp_path / "f.jsonl")}, model=str(tiny_model_dir), budget=8, seeds=1,
                val_tasks=0, test_tasks=1, test_arms=("learning-off",), chosen="reference-lr1e-4",
                validation_from=earlier, checkpoint=saved.append,
                overrides=["samples_per_prompt=2", "max_new_tokens=8", "device=cpu", "dtype=float32"])
    last = saved[-1]
    assert last["partial"] and last["validation"]["tasks"] == {"g": ["g-1"]}
    merged = merge([("killed.partial.json", json.loads(json.dumps(last)))])
    fam = merged["families"]["f"]
    assert fam["seeds"] == [0] and set(fam["arms"]) == {"learning-off", "reference-lr1e-4"}


def test_a_chosen_recipe_that_is_not_a_candidate_is_refused(tmp_path):
    import pytest

    from arcfarm.bench import science

    _tasks(tmp_path / "f.jsonl", 3)
    with pytest.raises(ValueError, match="--chosen nope: not one of the recipes"):
        science.run({"f": str(tmp_path / "f.jsonl")}, chosen="nope", val_tasks=0, test_tasks=2)
