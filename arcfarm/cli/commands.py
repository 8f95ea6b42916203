"""Imports every command module so that its commands register on the app (one line each)."""
# Add one import per command module; keep the list sorted.
from arcfarm.cli import bench_exec_cmd  # noqa: F401
from arcfarm.cli import bench_farm_cmd  # noqa: F401
from arcfarm.cli import bench_gpu_cmd  # noqa: F401
from arcfarm.cli import bench_scale_cmd  # noqa: F401
from arcfarm.cli import exec_cmd  # noqa: F401
from arcfarm.cli import farm_cmd  # noqa: F401
from arcfarm.cli import model_cmd  # noqa: F401
from arcfarm.cli import solve_cmd  # noqa: F401
from arcfarm.cli import toy_cmd  # noqa: F401
