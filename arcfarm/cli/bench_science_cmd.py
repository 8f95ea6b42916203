"""`arcfarm bench science`: does learning help? Paired arms x seeds over task families
(arcfarm.bench.science), with a plot per family."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Callable, Optional

import typer

from arcfarm.cli.bench_output import emit, progress_log
from arcfarm.cli.main import bench_app


def _families(items: list[str]) -> dict[str, str]:
    out = {}
    for item in items:
        name, sep, path = item.partition("=")
        if not sep or not name or not path:
            raise typer.BadParameter(f"--family {item!r}: expected NAME=PATH")
        if not Path(path).is_file():
            raise typer.BadParameter(f"--family {item!r}: no file {path}")
        out[name] = path
    return out


@bench_app.command("science")
def bench_science(
    family: list[str] = typer.Option(["heldout=data/toy/heldout.jsonl"], "--family",
                                     help="NAME=PATH of a synth JSONL file; repeat for several families."),
    model: str = typer.Option("models/toy"),
    budget: int = typer.Option(128, help="Predictions per task and arm (a multiple of 4 x samples per prompt)."),
    seeds: int = typer.Option(3, help="Test seeds: N of them, from --seed-from."),
    seed_from: int = typer.Option(0, help="The first test seed (a later call adds seeds; see science-merge)."),
    val_tasks: int = typer.Option(16, help="Validation tasks per family (for choosing the recipe)."),
    test_tasks: int = typer.Option(48, help="Test tasks per family (0 = all the rest)."),
    recipes: str = typer.Option("", help="Comma-separated candidate recipes (default: all known)."),
    workers: int = typer.Option(1, help="Solver processes side by side."),
    deadline_s: float = typer.Option(0, help="Start no run after this many seconds; report whole seeds (0 = none)."),
    test_arms: str = typer.Option("sampling-only,learning-off,committed",
                                  help="Comma-separated arms run on the test tasks besides the chosen recipe."),
    chosen: Optional[str] = typer.Option(None, help="Skip validation: this recipe, chosen by --validation-from."),
    validation_from: Optional[Path] = typer.Option(None, help="The earlier result whose validation chose --chosen."),
    set_: list[str] = typer.Option([], "--set", help="A loop config key for every arm: key=value."),
    skip_runs_in: list[Path] = typer.Option([], "--skip-runs-in",
                                            help="An earlier result or .partial.json: its finished runs are "
                                                 "not run again (repeat; table the union with science-merge)."),
    json_out: bool = typer.Option(False, "--json", help="Print the result JSON on stdout."),
    out: Optional[Path] = typer.Option(None, "--out", help="Also write the result JSON to this file."),
    plots: Optional[Path] = typer.Option(None, "--plots", help="A folder for one plot per family."),
) -> None:
    """Sampling-only, learning-off, committed and the best validated recipe, paired per task."""
    from arcfarm.bench import science

    log = progress_log(json_out)
    names = [r.strip() for r in recipes.split(",") if r.strip()] or None

    def checkpoint(partial: dict) -> None:
        if out is not None:
            out.parent.mkdir(parents=True, exist_ok=True)
            out.with_suffix(".partial.json").write_text(json.dumps(partial, indent=2))

    def build() -> dict:
        earlier = science.earlier_validation(chosen, validation_from)
        skip = science.finished_runs(skip_runs_in)
        return science.run(_families(family), model=model, budget=budget, seeds=seeds,
                           seed_from=seed_from,
                           val_tasks=val_tasks, test_tasks=test_tasks, workers=workers,
                           recipes=names, overrides=set_, deadline_s=deadline_s,
                           test_arms=tuple(a for a in test_arms.split(",") if a), chosen=chosen,
                           validation_from=earlier, skip=skip, log=log, checkpoint=checkpoint)

    _finish(build, plots, json_out, out)


@bench_app.command("science-merge")
def bench_science_merge(
    sources: list[Path] = typer.Argument(..., help="Results of `bench science` calls of one experiment."),
    out: Path = typer.Option(..., "--out", help="The merged result JSON."),
    plots: Optional[Path] = typer.Option(None, "--plots", help="A folder for one plot per family."),
    json_out: bool = typer.Option(False, "--json", help="Print the merged JSON on stdout."),
) -> None:
    """Table several calls of one experiment (cut by deadlines, later seeds) as one result."""
    from arcfarm.bench.science_merge import load, merge

    _finish(lambda: merge([load(p) for p in sources]), plots, json_out, out)


def _finish(build: Callable[[], dict], plots: Optional[Path], json_out: bool, out: Optional[Path]) -> None:
    """Build the result (a refused input is one error line, exit 2), add its plots, write it."""
    from arcfarm.bench import science

    try:
        result = build()
    except ValueError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2)
    if plots is not None:
        science.add_plots(result, plots)
    emit(result, json_out, out)
