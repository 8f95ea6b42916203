"""`arcfarm make-tiny-model`: write the tiny random-init test model (no network) into a directory."""
from __future__ import annotations

import time
from pathlib import Path

import typer

from arcfarm.cli.main import app


@app.command("make-tiny-model")
def make_tiny_model_cmd(
    directory: Path = typer.Argument(..., help="Where to write the model and tokenizer."),
    seed: int = typer.Option(0, help="Seed of the random weights; same seed, same model."),
    layers: int = typer.Option(2, min=1, help="Transformer layers."),
    hidden: int = typer.Option(256, min=32, help="Hidden size, a multiple of 32 (head_dim)."),
) -> None:
    """Build a tiny Llama with a Llama-3.1-like tokenizer, loadable like a real checkpoint."""
    from arcfarm.learn.tiny_model import make_tiny_model  # torch import only when used

    if hidden % 32:
        raise typer.BadParameter(f"{hidden} is not a multiple of 32", param_hint="--hidden")
    start = time.perf_counter()
    path = make_tiny_model(directory, seed=seed, layers=layers, hidden=hidden)
    typer.echo(f"wrote {path} in {time.perf_counter() - start:.1f}s")
