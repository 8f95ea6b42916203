"""Part (b) of `arcfarm bench scale` end to end with the small model on CPU: every worker count
runs the whole task list on the same long-lived worker processes, and the result has the keys
that bench/results/scale-*.json records."""
import json
import multiprocessing as mp
import subprocess
import sys

import pytest

from arcfarm.bench.scale_gpu import _next


def test_every_count_runs_every_task(tmp_path):
    out = tmp_path / "gpu.json"
    cmd = [sys.executable, "-m", "arcfarm.bench.scale_gpu", "--small", "--gpus", "a,b", "--counts", "1,2",
           "--tasks", "3", "--rounds", "2", "--predictions", "4", "--examples", "2", "--out", str(out)]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    result = json.loads(out.read_text())
    assert [r["workers"] for r in result["runs"]] == [1, 2]
    for run in result["runs"]:
        assert len(run["task_s"]) == 3 and all(s > 0 for s in run["task_s"])
    assert result["runs"][0]["efficiency"] == 1.0
    assert result["ratio"] == round(result["tasks_per_hour_2"] / result["tasks_per_hour_1"], 3)
    assert result["task"] == {"rounds": 2, "predictions": 4, "examples": 2}


def test_more_workers_than_gpus_is_refused():
    cmd = [sys.executable, "-m", "arcfarm.bench.scale_gpu", "--small", "--gpus", "0", "--counts", "1,2"]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
    assert proc.returncode != 0 and "between 1 and the 1 GPUs" in proc.stderr


def test_a_dead_worker_fails_the_run_by_name():
    ctx = mp.get_context("spawn")
    dead = ctx.Process(target=sys.exit, args=(3,))  # a worker that crashed before reporting
    dead.start()
    dead.join()
    with pytest.raises(RuntimeError, match="GPU worker\\(s\\) 7 died"):
        _next(ctx.Queue(), [dead], ["7"])
