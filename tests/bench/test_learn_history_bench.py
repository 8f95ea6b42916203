"""`arcfarm bench learn-history`'s arithmetic: pass rates per run kind and the paired per-task
difference adapter - control, averaged over seeds, on hand-made results; parts of seeds run as
separate processes joined by `merge`; the task groups. (The bench itself runs
the farm; at its smallest size it took minutes on the shared 2-core machine, too long for CI.)"""
from __future__ import annotations

from arcfarm.bench.learn_history_bench import summarize


def _runs(**tasks):
    """t=(pass_n, pass_2) -> the bench's per-task rows."""
    return {t: {"pass_n": n, "pass_2": two} for t, (n, two) in tasks.items()}


def _seed(b_adapter, b_control, u_adapter, u_control):
    return {"A": _runs(x=(True, True), y=(False, False)), "B_adapter": _runs(**b_adapter),
            "B_control": _runs(**b_control), "U_adapter": _runs(**u_adapter),
            "U_control": _runs(**u_control)}


def test_paired_differences_and_rates():
    seeds = [
        _seed({"x": (True, True), "y": (True, False)}, {"x": (True, True), "y": (False, False)},
              {"z": (False, False)}, {"z": (True, True)}),
        _seed({"x": (True, False), "y": (False, False)}, {"x": (True, True), "y": (False, False)},
              {"z": (False, False)}, {"z": (False, False)}),
    ]
    s = summarize(seeds)
    assert s["A.pass_n"] == {"per_seed": [0.5, 0.5], "mean": 0.5}
    assert s["B_adapter.pass_n"]["per_seed"] == [1.0, 0.5]
    # pass@n: y is better with the adapter in seed 0, equal in seed 1 -> +0.5 on y, 0 on x.
    assert _counts(s["B.paired.pass_n"]) == {"mean_difference": 0.25, "tasks_better": 1, "tasks_worse": 0}
    assert s["B.paired.pass_n"]["per_seed_difference"] == [0.5, 0.0]
    # two tasks, differences 0 and +0.5: every resample's mean lies in [0, 0.5], both ends reached
    assert s["B.paired.pass_n"]["ci95"] == [0.0, 0.5]
    # pass@2: x lost its second attempt in seed 1 -> -0.5 on x.
    assert _counts(s["B.paired.pass_2"]) == {"mean_difference": -0.25, "tasks_better": 0, "tasks_worse": 1}
    assert s["B.paired.pass_2"]["per_seed_difference"] == [0.0, -0.5]
    assert _counts(s["U.paired.pass_n"]) == {"mean_difference": -0.5, "tasks_better": 0, "tasks_worse": 1}
    assert s["U.paired.pass_n"]["ci95"] == [-0.5, -0.5]  # one task: nothing to resample


def _counts(paired):
    return {k: paired[k] for k in ("mean_difference", "tasks_better", "tasks_worse")}


def _part(part, seeds, kinds, plan=None):
    from arcfarm.bench.learn_history_bench import PARTS
    base = {"tasks_file": "f.jsonl", "limit": 2, "budget": 8, "part": part, "seeds": seeds}
    recs = []
    for seed in seeds:
        full = _seed(*kinds)
        recs.append({"seed": seed, "runs": {k: 1 for k in PARTS[part] if k != "A"},
                     **{k: full[k] for k in PARTS[part]}})
    return {"bench": "learn-history", "date": "d", "cpu": "c", "commit": "abc", "database": "sqlite:///x.db",
            "plan": {**base, **(plan or {})}, "summary": None, "seeds": recs}


KINDS = ({"x": (True, True)}, {"x": (False, False)}, {"z": (False, False)}, {"z": (True, True)})


def test_parts_of_a_seed_run_apart_are_tabled_as_one():
    from arcfarm.bench.learn_history_bench import merge
    merged = merge([_part("adapter", [0, 1], KINDS), _part("control", [1], KINDS),
                    _part("control", [0], KINDS)])
    assert merged["plan"]["seeds"] == [0, 1] and merged["plan"]["part"] == "all"
    assert [s["seed"] for s in merged["seeds"]] == [0, 1]
    assert _counts(merged["summary"]["B.paired.pass_n"]) == {"mean_difference": 1.0, "tasks_better": 1,
                                                             "tasks_worse": 0}
    assert merged["summary"]["U.paired.pass_n"]["tasks_worse"] == 1


def test_a_merge_refuses_missing_twice_recorded_and_foreign_parts():
    import pytest

    from arcfarm.bench.learn_history_bench import merge
    with pytest.raises(ValueError, match="seed 1: no B_control, U_control"):
        merge([_part("adapter", [0, 1], KINDS), _part("control", [0], KINDS)])
    with pytest.raises(ValueError, match="seed 0: B_control is in more than one result"):
        merge([_part("all", [0], KINDS), _part("control", [0], KINDS)])
    with pytest.raises(ValueError, match="budget differ"):
        merge([_part("adapter", [0], KINDS), _part("control", [0], KINDS, plan={"budget": 16})])
    later = _part("control", [0], KINDS)
    later["commit"] = "def"
    with pytest.raises(ValueError, match="different commits"):
        merge([_part("adapter", [0], KINDS), later])
    other_tasks = ({"x": (True, True)}, {"y": (False, False)}, {"z": (False, False)}, {"z": (True, True)})
    with pytest.raises(ValueError, match="B_adapter and B_control ran other tasks"):
        merge([_part("adapter", [0], KINDS), _part("control", [0], other_tasks)])
    with pytest.raises(ValueError, match="result 1 is not a learn-history result"):
        merge([_part("adapter", [0], KINDS), {"families": {}}])


def test_merged_parts_say_which_database_their_ids_belong_to():
    from arcfarm.bench.learn_history_bench import merge
    a, c = _part("adapter", [0], KINDS), _part("control", [0], KINDS)
    a["database"], c["database"] = "sqlite:///a.db", "sqlite:///c.db"
    assert merge([a, c])["parts"] == [{"part": "adapter", "seeds": [0], "database": "sqlite:///a.db"},
                                      {"part": "control", "seeds": [0], "database": "sqlite:///c.db"}]


def test_groups_take_every_kind_when_none_is_named_and_a_bad_part_is_refused(tmp_path):
    import json

    import pytest

    from arcfarm.bench.learn_history_bench import Plan, _group, groups, run
    from arcfarm.settings import Settings
    path = tmp_path / "fam.jsonl"
    task = {"train": [{"input": [[1]], "output": [[2]]}], "test": [{"input": [[1]], "output": [[2]]}]}
    path.write_text("".join(json.dumps({"id": f"t{i}", "kind": k, **task}) + "\n"
                            for i, k in enumerate(["a", "b", "a"])))
    assert [t[0].id for t in _group(path, [], 5)] == ["t0", "t1", "t2"]
    assert [t[0].id for t in _group(path, ["a"], 5)] == ["t0", "t2"]
    with pytest.raises(ValueError, match="no tasks of kinds"):
        _group(path, ["c"], 5)
    plan = Plan(tasks_file=path, seen_kinds=[], unseen_kinds=[], limit=1, budget=1, seeds=[0],
                config="toy-cpu", sets=[], part="half")
    with pytest.raises(ValueError, match="part must be one of"):
        run(plan, Settings(home=tmp_path / "home"))
    plan.part = "all"  # both groups the same file, every kind: the same tasks twice
    with pytest.raises(ValueError, match="1 tasks are both seen and unseen"):
        run(plan, Settings(home=tmp_path / "home"))
    assert not (tmp_path / "home").exists()  # refused before anything was written
    plan.seen_kinds, plan.unseen_kinds = ["a"], ["b"]
    assert [len(g) for g in groups(plan)] == [1, 1]


def test_the_module_entry_point_names_what_is_wrong(tmp_path, capsys):
    import pytest

    from arcfarm.bench.learn_history_bench import main
    with pytest.raises(SystemExit, match="seeds must be comma-separated integers"):
        main(["--seeds", "0,x", "--out", str(tmp_path / "o.json")])
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    with pytest.raises(SystemExit, match="bad.json"):
        main(["--merge", str(bad), "--out", str(tmp_path / "o.json")])
    assert not (tmp_path / "o.json").exists()


def test_the_cli_refuses_a_bad_plan_with_exit_code_2(tmp_path):
    from typer.testing import CliRunner

    from arcfarm.cli.main import app
    res = CliRunner().invoke(app, ["bench", "learn-history", "--seeds", "0,x"])
    assert res.exit_code == 2 and "seeds must be comma-separated integers" in res.output
    res = CliRunner().invoke(app, ["bench", "learn-history", "--part", "half"])
    assert res.exit_code == 2 and "part must be one of" in res.output


def test_results_say_which_gpu_and_libraries_ran_them():
    from arcfarm.bench.learn_history_bench import merge
    from arcfarm.bench.machine import software
    here = software()
    assert set(here) == {"gpu", "torch", "transformers", "peft", "trl"}
    import torch
    assert here["torch"] and here["torch"].split("+")[0] == torch.__version__.split("+")[0]
    a, c = _part("adapter", [0], KINDS), _part("control", [0], KINDS)
    a["software"] = c["software"] = here
    assert merge([a, c])["software"] == here
