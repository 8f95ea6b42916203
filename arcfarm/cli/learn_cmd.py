"""`arcfarm learn`: fine-tune one adapter on the farm's own history; `arcfarm trainings`: look.

    arcfarm learn --runs 3,4 --policy top8 --config barc-search-learn --out top8-ab
    arcfarm learn --runs 3 --policy passing -c toy-cpu --out toy-pass --local   # train here
    arcfarm trainings            # the newest trainings
    arcfarm trainings 2 --json   # one, with its loss curve and adapter URI

On a farm (ARCFARM_BROKER_URL set) `learn` writes the training row and sends it to the `train`
queue (a worker started with `arcfarm worker -Q train` takes it) unless --local; without a
broker, or with --local, it trains in this process with a progress bar. Either way the result
is a row of `trainings` and an adapter under $ARCFARM_ARTIFACTS/trainings/<id>/, which a run
starts from with `--set base_adapter=training:<id>`.
"""
from __future__ import annotations

from typing import Optional

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from arcfarm.cli.farm_cmd import _errors, _json, _session, _settings, err
from arcfarm.cli.main import app


@app.command()
def learn(
    runs: str = typer.Option(..., "--runs", help="Run ids whose history to learn from: 3,4."),
    policy: str = typer.Option("top8", help="top<k> (best k distinct outputs per task) or passing."),
    config: str = typer.Option(..., "--config", "-c", help="YAML file or bundled config name: the "
                                                            "model, LoRA and training keys."),
    set_: list[str] = typer.Option([], "--set", help="Override a config key: key=value."),
    out: str = typer.Option(..., "--out", help="A name for the training (and its adapter)."),
    queue: Optional[str] = typer.Option(None, "--queue", "-Q", help="Farm queue (default: train)."),
    local: bool = typer.Option(False, "--local", help="Train in this process, even on a farm."),
    as_json: bool = typer.Option(False, "--json", help="Print the training row as JSON."),
) -> None:
    """Fine-tune one LoRA (trl) on programs the farm recorded, relabeled; record it in `trainings`."""
    from arcfarm.db.reads import PolicyError
    from arcfarm.db.trainings import TrainingError, training_row
    from arcfarm.jobs import learn as svc
    from arcfarm.jobs.broker import TRAIN_QUEUE
    from arcfarm.jobs.submit import build_config

    settings = _settings()
    with _errors():
        try:
            run_ids = svc.parse_run_ids(runs)
            cfg = build_config(config, sets=set_)
            with _session(settings) as session:
                training_id = svc.create_training(session=session, name=out, run_ids=run_ids,
                                                  policy=policy, config=cfg,
                                                  queue=queue or TRAIN_QUEUE)
        except (PolicyError, TrainingError, ValueError) as exc:
            err.print(f"[red]error:[/red] {exc}")
            raise typer.Exit(2)
    if settings.embedded or local:
        outcome = _train_here(settings, training_id)
    else:
        _send(settings, training_id, queue or TRAIN_QUEUE)
        outcome = "queued"
    with _session(settings) as session:
        row = training_row(session=session, training_id=training_id)
    if as_json:
        typer.echo(_json(row))
    else:
        typer.echo(_describe(row))
    if outcome not in ("done", "queued"):
        raise typer.Exit(1)


def _train_here(settings, training_id: int) -> str:
    from arcfarm.db.connection import make_db_engine, make_session_factory
    from arcfarm.workers.artifacts import ArtifactStore
    from arcfarm.workers.training_runner import run_training

    engine = make_db_engine(settings.db_url)
    columns = [TextColumn("training {task.fields[id]}"), BarColumn(), MofNCompleteColumn(),
               TextColumn("loss {task.fields[loss]}"), TimeElapsedColumn()]
    try:
        with Progress(*columns, console=err) as bar:
            task = bar.add_task("train", total=None, id=training_id, loss="-")

            def progress(step: int, total: int, loss: float | None) -> None:
                bar.update(task, completed=step, total=total,
                           loss="-" if loss is None else f"{loss:.4f}")

            return run_training(training_id, session_factory=make_session_factory(engine),
                                artifacts=ArtifactStore(settings.artifacts),
                                worker_name="arcfarm-learn", max_deliveries=1,
                                db_retry_s=settings.db_retry_s, progress=progress)
    finally:
        engine.dispose()


def _send(settings, training_id: int, queue: str) -> None:
    from arcfarm.jobs.queue import CeleryQueue

    celery = CeleryQueue(settings)
    try:
        celery.enqueue_training(training_id, queue)
    finally:
        celery.close()


def _describe(row: dict) -> str:
    line = (f"training {row['id']} {row['name']!r}: {row['status']}, runs {row['source_runs']}, "
            f"policy {row['policy']}")
    if row["status"] == "done":
        line += (f"\n  {row['n_examples']} examples, {row['n_tokens']} tokens, {row['steps']} steps, "
                 f"final loss {row['final_loss']:.4f}, {row['seconds']:.1f} s"
                 f"\n  adapter {row['adapter_uri']} (sha256 {row['adapter_sha256'][:16]}...)"
                 f"\n  start a run from it: --set base_adapter=training:{row['id']}")
    elif row["status"] == "failed":
        line += f"\n  error: {(row['error'] or '').strip().splitlines()[-1]}"
    elif row["status"] == "queued":
        line += f"\n  sent to queue {row['queue']!r}: `arcfarm worker -Q {row['queue']}` takes it"
    return line


@app.command()
def trainings(
    training_id: Optional[int] = typer.Argument(None, help="One training (default: list them)."),
    as_json: bool = typer.Option(False, "--json", help="JSON instead of text."),
) -> None:
    """The trainings `arcfarm learn` recorded (newest first), or one of them."""
    from arcfarm.db import trainings as db_trainings

    settings = _settings()
    with _session(settings) as session:
        if training_id is None:
            rows = db_trainings.list_trainings(session=session)
        else:
            row = db_trainings.training_row(session=session, training_id=training_id)
            if row is None:
                err.print(f"[red]error:[/red] training {training_id} does not exist")
                raise typer.Exit(2)
            rows = [row]
    if as_json:
        typer.echo(_json(rows if training_id is None else rows[0]))
    elif not rows:
        err.print("no trainings yet: `arcfarm learn --runs ...` records one")
    else:
        for row in rows:
            typer.echo(_describe(row))
