"""bench/results/scale-*.json merging: a part run later never erases an earlier part, and workers
sharing one GPU are stored apart from multi-GPU scaling (a 2-on-1 ratio is not a 2-GPU ratio)."""
import json
import subprocess
import sys

from arcfarm.bench import scale_bench as sb
from arcfarm.bench.machine import today


def test_parts_merge_and_shared_gpu_runs_stay_apart(tmp_path):
    out = tmp_path / "scale.json"
    sb.write(out, simulated={"date": "2026-11-26", "workers": 8, "overhead_ms_per_job": 380.0})
    first = json.loads(out.read_text())
    assert first["gpu"] is None and "2 GPUs" in first["gpu_reason"]

    sb.write(out, gpu_shared={"gpus": ["0", "0"], "ratio": 0.9}, gpu_reason="not run: no 2-GPU machine")
    second = json.loads(out.read_text())
    assert second["simulated"] == first["simulated"] and second["machine"] == first["machine"]
    assert second["gpu"] is None and second["gpu_reason"] == "not run: no 2-GPU machine"
    assert second["gpu_shared"]["gpus"] == ["0", "0"]

    sb.write(out, gpu={"gpus": ["0", "1"], "ratio": 1.95})
    third = json.loads(out.read_text())
    assert third["gpu"]["ratio"] == 1.95 and "gpu_reason" not in third
    assert third["gpu_shared"] == second["gpu_shared"] and third["simulated"] == first["simulated"]


def test_cli_stores_repeated_gpu_ids_as_shared(tmp_path):
    out = tmp_path / "scale.json"
    cmd = [sys.executable, "-m", "arcfarm.cli", "bench", "scale", "--gpu", "--small", "--gpus", "x,x",
           "--counts", "1,2", "--tasks", "2", "--rounds", "1", "--predictions", "2", "--examples", "1",
           "--out", str(out)]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    result = json.loads(out.read_text())
    assert result["gpu"] is None
    shared = result["gpu_shared"]
    assert shared["distinct_gpus"] == 1 and [r["workers"] for r in shared["runs"]] == [1, 2]
    assert shared["date"] == today()
