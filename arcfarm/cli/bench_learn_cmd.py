"""`arcfarm bench learn-history`: does a LoRA learned from a run's history help the next run?
(arcfarm.bench.learn_history_bench)."""
from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from arcfarm.cli.bench_output import emit, progress_log
from arcfarm.cli.main import bench_app


@bench_app.command("learn-history")
def bench_learn_history(
    tasks: Path = typer.Option(Path("data/toy/heldout.jsonl"), help="Synth JSONL tasks (with kind)."),
    seen_kinds: str = typer.Option("objects,pixels,small,dense", help="Families run A learns from."),
    unseen_kinds: str = typer.Option("enclosures", help="Families the training never sees."),
    limit: int = typer.Option(100, min=1, help="Tasks per group."),
    budget: int = typer.Option(128, min=1, help="Predictions per task (sampling only)."),
    seeds: str = typer.Option("0,1,2", help="Seeds, comma-separated."),
    config: str = typer.Option("toy-cpu", "--config", "-c", help="Run config (model, LoRA, training)."),
    set_: list[str] = typer.Option([], "--set", help="Override a config key: key=value."),
    policy: str = typer.Option("top8", help="Selection policy of the training."),
    json_out: bool = typer.Option(False, "--json", help="Print the result JSON on stdout."),
    out: Optional[Path] = typer.Option(None, "--out", help="Also write the result JSON to this file."),
) -> None:
    """Run A -> learn on A -> runs B (same tasks) and U (unseen family) with and without it."""
    from arcfarm.bench import learn_history_bench as bench
    from arcfarm.settings import get_settings

    plan = bench.Plan(tasks_file=tasks, seen_kinds=seen_kinds.split(","),
                      unseen_kinds=unseen_kinds.split(","), limit=limit, budget=budget,
                      seeds=[int(s) for s in seeds.split(",")], config=config, sets=set_,
                      policy=policy)
    result = bench.run(plan, get_settings(), log=progress_log(json_out))
    emit(result, json_out, out)
