"""`arcfarm bench ui`: server time of the dashboard's pages on a big run (arcfarm.bench.ui_bench)."""
from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from arcfarm.cli.bench_output import emit, progress_log
from arcfarm.cli.main import bench_app


@bench_app.command("ui")
def bench_ui(
    json_out: bool = typer.Option(False, "--json", help="Print the result JSON on stdout."),
    out: Optional[Path] = typer.Option(None, "--out", help="Also write the result JSON to this file."),
    quick: bool = typer.Option(False, "--quick", help="40 tasks x 250 predictions (seconds), for tests."),
    pg: str = typer.Option("postgresql+psycopg://postgres@127.0.0.1:5432", "--pg",
                           help="PostgreSQL server; a throwaway database is created and dropped."),
) -> None:
    """The run page of 400 tasks and 500,000 predictions: server time (target < 300 ms)."""
    from arcfarm.bench import ui_bench

    emit(ui_bench.run(quick=quick, pg_server=pg, log=progress_log(json_out)), json_out, out)
