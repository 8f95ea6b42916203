"""`arcfarm solve`: run the search-and-learn loop locally on a task or dataset, no queue, no database."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Optional

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from arcfarm.arc.datasets import load_taskset
from arcfarm.arc.tasks import TaskError
from arcfarm.cli.main import app
from arcfarm.learn.config import ConfigError, load_config, training_id

err = Console(stderr=True)


@app.command()
def solve(
    source: str = typer.Argument(..., help="A task JSON file, a folder, a Kaggle challenges file "
                                           "or a named dataset such as arc-agi-1/evaluation."),
    config: str = typer.Option("tiny-cpu", "--config", "-c", help="YAML file or bundled name."),
    set_: list[str] = typer.Option([], "--set", help="Override a config key: key=value."),
    task_id: list[str] = typer.Option([], "--task", help="Only these task ids (repeatable)."),
    limit: int = typer.Option(0, help="At most this many tasks (0 = all)."),
    as_json: bool = typer.Option(False, "--json", help="One JSON object per task on stdout."),
    adapters: Optional[Path] = typer.Option(None, help="Save each epoch's adapter under DIR."),
) -> None:
    """Solve ARC tasks with search-and-learn and print the attempts and scores."""
    try:
        cfg = load_config(config, set_)
        if training_id(cfg.base_adapter) is not None:  # the farm fetches those; here is no database
            raise ConfigError(f"config key 'base_adapter': {cfg.base_adapter} is for farm runs "
                              "(arcfarm submit); arcfarm solve takes a folder with a peft adapter")
        taskset = load_taskset(source).select(task_id or None, limit or None)
    except (ConfigError, TaskError) as exc:
        err.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(2)

    from arcfarm.arc.scoring import task_score
    from arcfarm.learn.loop import LoopHooks  # heavy imports only when solving
    from arcfarm.learn.solver import Solver

    results = []
    with Solver(cfg) as solver, _progress(not as_json) as progress:
        for task in taskset.tasks:
            bar = progress.add_task(task.id, total=cfg.max_epochs + 1)
            hooks = LoopHooks(on_epoch=_epoch_hook(solver, task.id, adapters, progress, bar))
            result = solver.solve(task, hooks=hooks)
            solutions = taskset.solutions.get(task.id)
            if solutions is not None:  # scoring after the fact, the only use of solutions
                result.score = task_score(result.attempts, solutions)
            results.append(result)
            if as_json:
                print(json.dumps(result.to_json()), flush=True)
    if not as_json:
        _print_table(results)


def _epoch_hook(solver, task_id: str, adapters: Path | None, progress: Progress, bar):
    def on_epoch(record, _predictions) -> None:
        if adapters is not None and record.epoch > 0:
            solver.save_adapter(str(adapters / task_id / f"epoch-{record.epoch}"))
        progress.update(bar, advance=1, description=f"{task_id} epoch {record.epoch}: "
                        f"{record.valid}/{record.predictions} valid, {record.passes_train} pass train")
    return on_epoch


def _progress(visible: bool) -> Progress:
    return Progress(TextColumn("{task.description}"), BarColumn(), TimeElapsedColumn(),
                    console=err, disable=not visible, transient=False)


def _print_table(results) -> None:
    table = Table(title="arcfarm solve")
    for col in ("task", "epochs", "predictions", "valid", "pass train", "score", "seconds"):
        table.add_column(col)
    for r in results:
        table.add_row(r.task_id, str(len(r.epochs)), str(sum(e.predictions for e in r.epochs)),
                      str(sum(e.valid for e in r.epochs)), str(sum(e.passes_train for e in r.epochs)),
                      "-" if r.score is None else f"{r.score:.2f}", f"{r.seconds:.1f}")
    Console().print(table)
