"""The exec bench's ceilings of a fresh process per program, from the run's own fork costs."""
from arcfarm.bench.exec_bench import ceilings


def test_ceilings_from_fork_costs_and_the_pool_rate():
    # 2 cores, the pool at 400 runs/s: 5 ms of a core per mix run; fork+exit 1 ms
    bounds = ceilings(cores=2, baseline_rate=400.0, fork_ms=1.0, penalty_ms=1.0, warm_ms=0.5)
    assert bounds == {"trivial_ceiling_runs_per_s_per_core": 400.0, "mix_ratio_ceiling": 0.833}
