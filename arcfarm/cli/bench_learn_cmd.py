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
    seen_kinds: str = typer.Option("objects,pixels,small,dense",
                                   help="Families run A learns from ('' = every task of --tasks)."),
    unseen_tasks: Optional[Path] = typer.Option(None, help="Where the unseen group comes from (default --tasks)."),
    unseen_kinds: str = typer.Option("enclosures", help="Families the training never sees ('' = every task)."),
    limit: int = typer.Option(100, min=1, help="Tasks per group."),
    budget: int = typer.Option(128, min=1, help="Predictions per task (sampling only)."),
    seeds: str = typer.Option("0,1,2", help="Seeds, comma-separated."),
    config: str = typer.Option("toy-cpu", "--config", "-c", help="Run config (model, LoRA, training)."),
    set_: list[str] = typer.Option([], "--set", help="Override a config key: key=value."),
    policy: str = typer.Option("top8", help="Selection policy of the training."),
    part: str = typer.Option("all", help="all | adapter (A, learn, B+, U+) | control (B0, U0): a seed "
                                         "in two processes; join the parts with python -m "
                                         "arcfarm.bench.learn_history_bench --merge."),
    json_out: bool = typer.Option(False, "--json", help="Print the result JSON on stdout."),
    out: Optional[Path] = typer.Option(None, "--out", help="Also write the result JSON to this file."),
) -> None:
    """Run A -> learn on A -> runs B (same tasks) and U (unseen family) with and without it."""
    from arcfarm.bench import learn_history_bench as bench
    from arcfarm.settings import get_settings

    try:
        plan = bench.Plan(tasks_file=tasks, seen_kinds=bench.parse_kinds(seen_kinds),
                          unseen_kinds=bench.parse_kinds(unseen_kinds), limit=limit, budget=budget,
                          seeds=bench.parse_seeds(seeds), config=config, sets=set_,
                          policy=policy, unseen_file=unseen_tasks, part=part)
        bench.groups(plan)  # a bad plan is refused before anything is written
    except (ValueError, OSError) as exc:
        raise typer.BadParameter(str(exc)) from None
    result = bench.run(plan, get_settings(), log=progress_log(json_out))
    emit(result, json_out, out)
