"""`arcfarm bench farm`: enqueue and status-query speed of the farm (arcfarm.bench.farm_bench)."""
from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from arcfarm.cli.bench_output import emit, progress_log
from arcfarm.cli.main import bench_app


@bench_app.command("farm")
def bench_farm(
    json_out: bool = typer.Option(False, "--json", help="Print the result JSON on stdout."),
    out: Optional[Path] = typer.Option(None, "--out", help="Also write the result JSON to this file."),
    quick: bool = typer.Option(False, "--quick", help="Smaller sizes (seconds), for tests."),
    pg: str = typer.Option("postgresql+psycopg://postgres@127.0.0.1:5432", "--pg",
                           help="PostgreSQL server; a throwaway database is created and dropped."),
    redis_url: str = typer.Option("redis://127.0.0.1:6379/14", "--redis",
                                  help="Redis db for the messages (its bench queue is deleted)."),
) -> None:
    """POST /runs of 400 tasks, GET /runs/{id} with 10k queued jobs and with 1M predictions."""
    from arcfarm.bench import farm_bench

    log = progress_log(json_out)
    result = farm_bench.run(quick=quick, pg_server=pg, redis_url=redis_url, log=log)
    emit(result, json_out, out)
