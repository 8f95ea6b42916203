"""The exec bench's ceilings of a fresh process per program, from the run's own fork costs."""
from arcfarm.bench.exec_bench import ceilings


def test_ceilings_from_fork_costs_and_the_pool_rate():
    # 2 cores, the pool at 400 runs/s: 5 ms of a core per mix run; fork+exit 1 ms
    # fork+exit 1 ms; a mix run in a fresh process of its kind 8 ms of CPU
    bounds = ceilings(cores=2, baseline_rate=400.0, fork_ms=1.0, penalty_ms=1.0, warm_ms=0.5, mix_fresh_ms=8.0)
    assert bounds == {"trivial_ceiling_runs_per_s_per_core": 400.0, "mix_ratio_ceiling": 0.625,
                      "mix_ratio_ceiling_fork_only": 0.833}
