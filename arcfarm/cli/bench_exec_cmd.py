"""`arcfarm bench exec`: sandbox throughput, timeout overrun and pool start (arcfarm.bench.exec_bench)."""
from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from arcfarm.cli.bench_output import emit, progress_log
from arcfarm.cli.main import bench_app


@bench_app.command("exec")
def bench_exec(
    json_out: bool = typer.Option(False, "--json", help="Print the result JSON on stdout."),
    out: Optional[Path] = typer.Option(None, "--out", help="Also write the result JSON to this file."),
    quick: bool = typer.Option(False, "--quick", help="A small run (seconds), for tests."),
) -> None:
    """Trivial and BARC-mix runs/s through the sandbox vs an unsandboxed multiprocessing.Pool."""
    from arcfarm.bench import exec_bench

    log = progress_log(json_out)
    result = exec_bench.run(quick=quick, log=log)
    emit(result, json_out, out)
