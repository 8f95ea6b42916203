"""`arcfarm bench scale`: queue + database overhead per job and its scaling (arcfarm.bench.scale_bench)."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Optional

import typer

from arcfarm.cli.main import bench_app


@bench_app.command("scale")
def bench_scale(
    json_out: bool = typer.Option(False, "--json", help="Print the result JSON on stdout."),
    quick: bool = typer.Option(False, "--quick", help="2 and 4 workers, 1 s tasks (CI)."),
    levels: Optional[str] = typer.Option(None, help="Worker counts to ramp, e.g. 8,16,32,64."),
    task_s: Optional[float] = typer.Option(None, min=0.1, help="Simulated task seconds."),
    jobs_per_worker: Optional[int] = typer.Option(None, min=2, help="Jobs per worker per level."),
    gpu: bool = typer.Option(False, "--gpu", help="Part (b): tasks/hour on 1 and N GPUs (no "
                                                  "database or broker needed)."),
    gpus: str = typer.Option("0,1", help="GPU ids for --gpu."),
    counts: Optional[str] = typer.Option(None, help="Worker counts for --gpu, e.g. 1,2,4 (default 1 and all)."),
    tasks: int = typer.Option(8, min=1, help="Tasks for --gpu."),
    rounds: int = typer.Option(4, min=1, help="Rounds per task for --gpu."),
    predictions: int = typer.Option(128, min=1, help="Predictions per round for --gpu."),
    examples: int = typer.Option(90, min=1, help="Training examples per round for --gpu."),
    small: bool = typer.Option(False, "--small", help="--gpu with a small random model (CPU ok)."),
    out: Path = typer.Option(Path("bench/results/scale-2026-11-26.json"), "--out",
                             help="Result file (the part run is merged in)."),
) -> None:
    """(a) stand-in workers on the real Postgres and Redis; (b) with --gpu, real GPU workers."""
    from arcfarm.bench import scale_bench as sb
    from arcfarm.settings import SettingsError

    log = (lambda msg: typer.echo(msg, err=True)) if json_out else typer.echo
    if gpu:
        from arcfarm.bench import gpu_bench, scale_gpu

        ids = [g.strip() for g in gpus.split(",") if g.strip()]
        ks = [int(c) for c in counts.split(",")] if counts else sorted({1, len(ids)})
        task = scale_gpu.GpuTask(rounds, predictions, examples)
        try:
            measured = scale_gpu.run_gpu(ids, ks, tasks, task, small, log)
        except ValueError as exc:
            typer.echo(f"error: {exc}", err=True)
            raise typer.Exit(2)
        found = scale_gpu.summary(measured, gpu_bench.device_info())
        # Two workers on one GPU measure sharing, not scaling: they go under their own key.
        shared = len(set(ids)) < len(ids)
        result = sb.write(out, gpu_shared=found) if shared else sb.write(out, gpu=found)
    else:
        plan = sb.QUICK if quick else sb.SimPlan()
        if levels:
            plan.levels = tuple(sorted(int(x) for x in levels.split(",")))
        plan.task_s = task_s or plan.task_s
        plan.jobs_per_worker = jobs_per_worker or plan.jobs_per_worker
        try:
            simulated = sb.run_simulated(plan, log)
        except SettingsError as exc:
            typer.echo(f"error: {exc}", err=True)
            raise typer.Exit(2)
        result = sb.write(out, simulated=simulated)
    if json_out:
        typer.echo(json.dumps(result, indent=2))
    else:
        typer.echo(f"wrote {out}")
