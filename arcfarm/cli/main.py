"""The `arcfarm` command line. Each command lives in its own module and is registered here."""
from __future__ import annotations

import typer

app = typer.Typer(no_args_is_help=True, add_completion=False,
                  help="Search-and-learn test-time training on ARC-AGI tasks.")
bench_app = typer.Typer(no_args_is_help=True, help="Benchmarks; results as JSON under bench/results/.")
app.add_typer(bench_app, name="bench")

# Command modules register themselves on `app` / `bench_app` when imported.
from arcfarm.cli import commands  # noqa: E402,F401

