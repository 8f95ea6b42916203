"""`arcfarm bench ui --quick`: builds a finished run on a throwaway PostgreSQL database, renders
the dashboard's pages on it (every task row present) and reports their server time. The speed
target itself is checked by the committed full run (bench/results/ui-*.json), not here."""
from __future__ import annotations

from arcfarm.bench import ui_bench


def test_bench_ui_quick_renders_every_page():
    result = ui_bench.run(quick=True, log=lambda _msg: None)
    r = result["results"]
    assert (r["tasks"], r["prediction_rows"]) == (40, 10_000)
    assert all(r[k] > 0 for k in ("run_page_ms", "runs_page_ms", "task_page_ms"))
    assert set(result["meets_targets"]) == set(ui_bench.TARGETS)
