"""`arcfarm bench scale --quick`: real stand-in Celery workers against the test PostgreSQL and
Redis; the result file has the documented keys and every job of every level was measured."""
from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

pytestmark = pytest.mark.slow


def test_quick_bench_measures_every_level(farm_env, tmp_path):
    out = tmp_path / "scale.json"
    env = {k: v for k, v in os.environ.items() if not k.startswith("ARCFARM_")}
    env.update(farm_env)
    proc = subprocess.run([sys.executable, "-m", "arcfarm.cli", "bench", "scale", "--quick",
                           "--json", "--out", str(out)], env=env, capture_output=True, text=True,
                          timeout=240)
    assert proc.returncode == 0, proc.stderr[-3000:]
    result = json.loads(out.read_text())
    assert json.loads(proc.stdout) == result
    sim = result["simulated"]
    assert [lv["workers"] for lv in sim["levels"]] == [2, 4]
    for lv in sim["levels"]:
        assert lv["jobs"] == 2 * lv["workers"]  # every job reported its timings
        assert lv["db_ms_per_job"] > 0 and lv["queue_ms_per_job"] >= 0
        assert lv["db_ms_by_call"]["record_epoch"] > lv["db_ms_by_call"]["heartbeat"]
        assert lv["pg_bytes_per_job"] > 4 * 128 * 1500  # 4 epochs of 128 programs of ~1.5 kB
        assert 0 < lv["overhead_fraction_60s"] < lv["overhead_fraction_at_task_s"]
    assert {"workers", "overhead_ms_per_job", "overhead_fraction_60s", "levels"} <= set(sim)
    assert result["gpu"] is None and result["gpu_reason"]
