"""Imports every command module so that its commands register on the app (one line each)."""
# Add one import per command module; keep the list sorted.
from arcfarm.cli import (
    bench_exec_cmd,  # noqa: F401
    bench_farm_cmd,  # noqa: F401
    bench_gpu_cmd,  # noqa: F401
    bench_learn_cmd,  # noqa: F401
    bench_scale_cmd,  # noqa: F401
    bench_science_cmd,  # noqa: F401
    bench_ui_cmd,  # noqa: F401
    exec_cmd,  # noqa: F401
    farm_cmd,  # noqa: F401
    learn_cmd,  # noqa: F401
    model_cmd,  # noqa: F401
    solve_cmd,  # noqa: F401
    toy_cmd,  # noqa: F401
)
