"""How every `arcfarm bench ...` command reports: progress on stderr under --json, the result
JSON on stdout and/or in a file."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Callable

import typer


def progress_log(json_out: bool) -> Callable[[str], None]:
    return (lambda msg: typer.echo(msg, err=True)) if json_out else typer.echo


def emit(result: dict, json_out: bool, out: Path | None) -> None:
    text = json.dumps(result, indent=2)
    if out is not None:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(text + "\n")
    if json_out:
        typer.echo(text)
    elif out is not None:
        typer.echo(f"wrote {out}")
