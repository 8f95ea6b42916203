"""`arcfarm bench farm --quick --json`: the load benchmark runs end to end and meets its targets
at the small sizes (the full sizes are in bench/results/farm-*.json)."""
from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from arcfarm.cli.main import app

from reliability_db import PG_SERVER


@pytest.mark.slow
def test_bench_farm_quick(rel_redis_url):
    result = CliRunner().invoke(app, ["bench", "farm", "--quick", "--json", "--pg", PG_SERVER,
                                      "--redis", rel_redis_url])
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    assert out["quick"] is True
    r = out["results"]
    assert (r["enqueue_tasks"], r["queued_jobs"], r["prediction_rows"]) == (40, 1000, 20_000)
    assert all(out["meets_targets"].values()), out["results"]
    assert {"postgres", "sqlalchemy", "git_commit", "cpu_model"} <= set(out["machine"])
