"""`arcfarm exec TASK.json PROGRAM.py ...`: run programs on a task in the sandbox and score them.

Programs run on the train inputs then the test inputs, all in one executor pool (`--workers N`
slots; with N = 1 every program runs in the same slot, in the order given). A program's failure
is a result (exit 0); an unreadable or invalid task file is a usage error (exit 2); a sandbox
that cannot give the isolation asked for (ARCFARM_SANDBOX) is an error naming what is missing
(exit 1). Each record says which isolation the programs ran under.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Optional

import numpy as np
import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

from arcfarm.cli.main import app


def _load_task(path: Path):
    from arcfarm.arc.grids import TaskError
    from arcfarm.arc.tasks import parse_task

    try:
        obj = json.loads(path.read_text())
        return parse_task(path.stem, obj)
    except (OSError, UnicodeDecodeError) as exc:
        typer.echo(f"error: cannot read task file {path}: {exc}", err=True)
    except json.JSONDecodeError as exc:
        typer.echo(f"error: task file {path} is not valid JSON: {exc}", err=True)
    except TaskError as exc:
        typer.echo(f"error: invalid task file {path}: {exc}", err=True)
    raise typer.Exit(2)


def _all_equal(outputs: list, expected: list) -> bool:
    return all(o is not None and o.shape == e.shape and bool((o == e).all()) for o, e in zip(outputs, expected))


def _record(program: Path, code_error: str | None, result, task, solutions, isolation: dict) -> dict[str, Any]:
    n_train = len(task.train)
    train_out, test_out = result.outputs[:n_train], result.outputs[n_train:]
    return {
        "program": str(program),
        "error": code_error or result.error,
        "message": result.message,
        "grid_errors": result.grid_errors,
        "train_correct": _all_equal(train_out, [p.output for p in task.train]),
        "test_correct": None if solutions is None else _all_equal(test_out, solutions),
        "train_outputs": [None if g is None else np.asarray(g).tolist() for g in train_out],
        "test_outputs": [None if g is None else np.asarray(g).tolist() for g in test_out],
        "seconds": round(result.seconds, 4),
        "stdout": result.stdout,
        "isolation": isolation,
    }


def _inert(text: str) -> Text:
    """A program's message as plain text for the terminal: control characters (escape sequences
    that would clear the screen or set the clipboard) shown escaped, and no Rich markup."""
    return Text("".join(c if c.isprintable() else repr(c)[1:-1] for c in text))


def _table(records: list[dict[str, Any]], isolation: str) -> Table:
    table = Table("program", "error", "train", "test", "seconds", "message", caption=f"sandbox: {isolation}")
    for r in records:
        test = "-" if r["test_correct"] is None else ("yes" if r["test_correct"] else "no")
        table.add_row(_inert(r["program"]), r["error"] or "", "yes" if r["train_correct"] else "no", test,
                      f"{r['seconds']:.3f}", _inert((r["message"] or "")[:60]))
    return table


@app.command("exec")
def exec_programs(
    task_file: Path = typer.Argument(..., help="A task JSON file {\"train\": [...], \"test\": [...]}."),
    programs: list[Path] = typer.Argument(..., help="One or more Python files defining transform(grid)."),
    json_out: bool = typer.Option(False, "--json", help="Print a JSON list, one object per program."),
    timeout: float = typer.Option(2.0, "--timeout", min=0.01, help="Seconds per program (all its grids)."),
    workers: Optional[int] = typer.Option(None, "--workers", min=1,
                                          help="Sandbox slots (default: one per core, at most one per program)."),
) -> None:
    """Run programs on a task's train and test inputs in the sandbox; report errors and correctness."""
    from arcfarm.sandbox import Executor, ProgramRun
    from arcfarm.sandbox.errors import SandboxUnavailable

    task, solutions = _load_task(task_file)
    codes: list[tuple[str, str | None]] = []
    for program in programs:
        try:
            codes.append((program.read_text(), None))
        except (OSError, UnicodeDecodeError) as exc:
            codes.append(("", f"unreadable: {exc}"))
    inputs = task.all_inputs()
    try:
        executor = Executor(workers=workers or min(len(programs), Executor.default_workers()), timeout_s=timeout)
    except SandboxUnavailable as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1)
    except ValueError as exc:  # e.g. ARCFARM_SANDBOX set to something unknown
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2)
    with executor as ex:
        results = ex.run([ProgramRun(code, inputs) for code, _ in codes])
        isolation = ex.isolation
    records = [_record(p, "unreadable" if why else None, r, task, solutions, isolation.to_json())
               for p, (_, why), r in zip(programs, codes, results)]
    for record, (_, why) in zip(records, codes):
        if why:
            record["message"] = why
    if json_out:
        typer.echo(json.dumps(records))
    else:
        Console().print(_table(records, isolation.summary()))
