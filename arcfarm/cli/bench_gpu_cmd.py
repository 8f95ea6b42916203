"""`arcfarm bench gpu`: the fast sampler and trainer against naive baselines (arcfarm.bench.gpu_bench)."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Optional

import typer

from arcfarm.cli.main import bench_app


@bench_app.command("gpu")
def bench_gpu(
    json_out: bool = typer.Option(False, "--json", help="Print the result JSON on stdout."),
    small: bool = typer.Option(False, "--small", help="A small random model (runs on the CPU)."),
    out: Optional[Path] = typer.Option(None, "--out", help="Result file (default bench/results/gpu-<device>-<date>.json)."),
    sections: str = typer.Option(",".join(("sampling", "training", "overhead", "task", "rounds", "compiled")),
                                 "--sections", help="Comma-separated subset to run."),
    update: bool = typer.Option(False, "--update", help="Merge into an existing result file."),
) -> None:
    """Sampling, training, per-epoch overhead, whole-task time and the rounds ratio, in one run."""
    from arcfarm.bench import gpu_bench

    chosen = tuple(s.strip() for s in sections.split(",") if s.strip())
    unknown = [s for s in chosen if s not in gpu_bench.SECTIONS]
    if unknown:
        raise typer.BadParameter(f"unknown sections {unknown}; choose from {', '.join(gpu_bench.SECTIONS)}")
    log = (lambda msg: typer.echo(msg, err=True)) if json_out else typer.echo
    result = gpu_bench.run(small=small, sections=chosen, log=log)
    path = gpu_bench.write(result, out, update, chosen)
    if json_out:
        typer.echo(json.dumps(result, indent=2))
    else:
        typer.echo(f"wrote {path}")
