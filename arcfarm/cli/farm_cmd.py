"""The farm's commands: demo, db upgrade, api, worker, submit, status, export, reconcile.

    arcfarm demo                                   # embedded: SQLite + in-process jobs, tiny model
    arcfarm db upgrade                             # create/migrate $ARCFARM_DATABASE_URL
    arcfarm api --port 8000                        # the HTTP API
    arcfarm worker --gpus all --queue arcfarm      # one solo Celery worker process per GPU
    arcfarm submit --dataset arc-agi-1/evaluation --config barc-search-learn --set max_epochs=2
    arcfarm status 7 --watch
    arcfarm export 7 -o submission.json
    arcfarm reconcile                              # re-send messages for queued / stale jobs

With neither ARCFARM_DATABASE_URL nor ARCFARM_BROKER_URL set, everything is embedded: the
database is $ARCFARM_HOME/arcfarm.db and `submit` runs the jobs itself (unless --no-run).
"""
from __future__ import annotations

import json
import os
import re
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator, Optional

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from arcfarm.api.loopback import is_loopback
from arcfarm.arc.grids import TaskError
from arcfarm.cli.main import app
from arcfarm.db.status import JOB_TERMINAL, RUN_TERMINAL
from arcfarm.jobs.limits import MAX_RUN_ID, MAX_TASKS_PER_RUN
from arcfarm.learn.config import ConfigError
from arcfarm.settings import Settings, SettingsError, get_settings

err = Console(stderr=True)
db_app = typer.Typer(no_args_is_help=True, help="The farm's database.")
app.add_typer(db_app, name="db")

# Toy tasks the committed toy model was not trained on (synth seed 11), Kaggle layout.
DEMO_TASKS = Path(__file__).resolve().parents[2] / "data" / "demo" / "toy_challenges.json"


@contextmanager
def _errors() -> Iterator[None]:
    """Bad input is one red line and exit code 2, not a traceback."""
    try:
        yield
    except (TaskError, ConfigError, SettingsError) as exc:
        err.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(2)


def _settings() -> Settings:
    with _errors():
        return get_settings()


@contextmanager
def _session(settings: Settings):
    from arcfarm.db.connection import make_db_engine, make_session_factory
    from arcfarm.db.migrate import upgrade_embedded

    if settings.embedded:
        upgrade_embedded(settings)
    engine = make_db_engine(settings.db_url)
    try:
        with make_session_factory(engine)() as session:
            yield session
    finally:
        engine.dispose()


def _json(obj: Any) -> str:
    return json.dumps(obj, default=str, indent=None)


# --- database, API, workers ------------------------------------------------------------------

@db_app.command("upgrade")
def db_upgrade() -> None:
    """Create or migrate the database to the newest schema."""
    from arcfarm.db.migrate import upgrade

    settings = _settings()
    if settings.sqlite_path is not None:
        settings.sqlite_path.parent.mkdir(parents=True, exist_ok=True)
    upgrade(settings.db_url)
    typer.echo(f"database at the newest schema: {settings.sqlite_path or 'ARCFARM_DATABASE_URL'}")


@db_app.command("grant-reader")
def db_grant_reader(name: str = typer.Argument(..., help="Role to create or update."),
                    password: Optional[str] = typer.Option(
                        None, envvar="ARCFARM_READER_PASSWORD",
                        help="Its password (default: none, for trust/peer setups).")) -> None:
    """A PostgreSQL role that may SELECT the four views and nothing else."""
    from arcfarm.db.connection import make_db_engine
    from arcfarm.db.roles import VIEWS, RoleError, grant_reader

    settings = _settings()
    engine = make_db_engine(settings.db_url)
    try:
        grant_reader(engine, name, password)
    except RoleError as exc:
        err.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(2)
    finally:
        engine.dispose()
    typer.echo(f"role {name}: SELECT on {', '.join(VIEWS)}; nothing else")


@app.command()
def api(host: str = typer.Option("127.0.0.1", help="Interface to listen on."),
        port: int = typer.Option(8000, help="Port to listen on.")) -> None:
    """Serve the HTTP API (POST /runs, GET /runs/{id}, ...)."""
    settings = _settings()
    if not settings.api_token and not is_loopback(host):
        err.print(f"[red]error:[/red] --host {host} is not a loopback address and "
                  "ARCFARM_API_TOKEN is not set: set a token before serving the API to a network")
        raise typer.Exit(2)
    import uvicorn

    from arcfarm.api.main import create_app

    uvicorn.run(create_app(settings), host=host, port=port)


QUEUE_NAME = re.compile(r"^[A-Za-z0-9_.:-]+$")


@app.command()
def worker(gpus: str = typer.Option("auto", help="none, all, or GPU ids like 0,1 (auto: every "
                                                 "GPU, else one CPU worker)."),
           queue: str = typer.Option("arcfarm", "--queue", "-Q",
                                     help="Queue(s) to take jobs from, comma-separated: h100,l4."),
           loglevel: str = typer.Option("info", help="Celery log level."),
           stop_timeout: float = typer.Option(0, min=0, help="On SIGTERM, kill workers still "
                                              "busy after this many seconds (0: wait for the "
                                              "epoch boundary however long)."),
           restart_backoff: float = typer.Option(1.0, min=0.1, help="First restart delay of a "
                                                 "dead worker (doubles, up to 60 s)."),
           ) -> None:
    """Start and supervise one solo-pool Celery worker per GPU (CUDA_VISIBLE_DEVICES=N, named
    gpuN@host); dead workers are restarted, SIGTERM stops jobs at an epoch boundary and requeues
    them."""
    import logging

    from arcfarm.workers import supervisor as sup

    settings = _settings()
    if settings.embedded:
        err.print("[red]error:[/red] ARCFARM_BROKER_URL is not set; in embedded mode "
                  "`arcfarm submit` runs the jobs itself")
        raise typer.Exit(2)
    queues = [q.strip() for q in queue.split(",") if q.strip()]
    if not queues or not all(QUEUE_NAME.match(q) for q in queues):
        raise typer.BadParameter(f"{queue!r}: queue names are letters, digits, _ . : -",
                                 param_hint="--queue")
    try:
        ids = sup.gpu_ids(gpus)
    except sup.GpuError as exc:
        raise typer.BadParameter(str(exc), param_hint="--gpus") from None
    logging.basicConfig(level=logging.INFO, format="%(asctime)s supervisor: %(message)s")
    specs = sup.worker_specs(ids, ",".join(queues), loglevel)
    err.print(f"starting {len(specs)} worker(s) on queue(s) {','.join(queues)}: "
              + ", ".join(s.name for s in specs))
    supervisor = sup.Supervisor(specs, on_lost=sup.requeue_lost(settings),
                                backoff_s=restart_backoff, stop_timeout_s=stop_timeout or None)
    raise typer.Exit(supervisor.run())


# --- runs ------------------------------------------------------------------------------------

@app.command()
def submit(
    dataset: Optional[str] = typer.Option(None, help="A named dataset (arc-agi-1/evaluation), "
                                                      "a folder or a challenges file."),
    tasks: Optional[Path] = typer.Option(None, help="A task JSON file or a {task_id: task} file."),
    config: str = typer.Option(..., "--config", "-c", help="YAML file or bundled config name."),
    set_: list[str] = typer.Option([], "--set", help="Override a config key: key=value."),
    name: Optional[str] = typer.Option(None, help="Run name (default: the dataset's)."),
    queue: Optional[str] = typer.Option(None, "--queue", "-Q", help="Celery queue of its jobs."),
    priority: int = typer.Option(0, min=0, max=9, help="9 is served first."),
    task_id: list[str] = typer.Option([], "--task", help="Only these task ids (repeatable)."),
    limit: int = typer.Option(0, min=0, max=MAX_TASKS_PER_RUN, help="At most this many tasks (0 = all)."),
    as_json: bool = typer.Option(False, "--json", help='Print {"run_id": ...}.'),
    no_run: bool = typer.Option(False, "--no-run", help="Embedded mode: only queue the jobs."),
) -> None:
    """Queue a run (one job per task) and print its id; embedded mode also runs it."""
    from arcfarm.jobs import submit as svc

    settings = _settings()
    if (dataset is None) == (tasks is None):
        raise typer.BadParameter("give exactly one of --dataset and --tasks")
    with _errors():
        source = str(tasks) if tasks is not None else dataset
        ds_name, chosen = svc.load_dataset(source, task_id or None, limit or None)
        cfg = svc.build_config(config, sets=set_)
        with _session(settings) as session:
            run_id = svc.create_run(session=session, settings=settings, name=name or ds_name,
                                    dataset=ds_name, tasks=chosen, config=cfg, queue=queue,
                                    priority=priority)
            if not settings.embedded:
                _send(settings, session, run_id)
    typer.echo(_json({"run_id": run_id}) if as_json else str(run_id))
    if settings.embedded and not no_run:
        err.print(f"submission: {run_embedded(settings, run_id, len(chosen))}")


def _send(settings: Settings, session, run_id: int) -> None:
    from arcfarm.jobs import submit as svc
    from arcfarm.jobs.queue import CeleryQueue

    queue = CeleryQueue(settings)
    try:
        svc.enqueue_run(session=session, queue=queue, run_id=run_id)
    except Exception as exc:  # noqa: BLE001 - the run is stored; reconcile sends it later
        err.print(f"[yellow]warning:[/yellow] run {run_id} stored but not enqueued ({exc}); "
                  "run `arcfarm reconcile` once the broker is back")
    finally:
        queue.close()


def run_embedded(settings: Settings, run_id: int, n_jobs: int) -> Path:
    """Run the run's queued jobs here, then write its submission.json under $ARCFARM_HOME/runs/."""
    from arcfarm.workers.embedded import EmbeddedRunner
    from arcfarm.workers.job_runner import DeliveryOutcome

    runner = EmbeddedRunner(settings)
    try:
        with _progress() as progress:
            bar = progress.add_task(f"run {run_id}", total=n_jobs)
            runner.drain(run_id, on_job=lambda job_id, outcome: progress.update(
                bar, advance=outcome != DeliveryOutcome.RETRY,
                description=f"run {run_id}: job {job_id} {outcome}"))
    finally:
        runner.close()
    return _write_submission(settings, run_id)


def _write_submission(settings: Settings, run_id: int) -> Path:
    from arcfarm.db import reads

    path = settings.home.resolve() / "runs" / str(run_id) / "submission.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    with _session(settings) as session:
        path.write_text(json.dumps(reads.submission(session=session, run_id=run_id)))
    return path


def _progress() -> Progress:
    return Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                    TimeElapsedColumn(), console=err)


@app.command()
def status(run: int = typer.Argument(..., min=1, max=MAX_RUN_ID, help="Run id."),
           watch: bool = typer.Option(False, "--watch", "-w", help="Follow until the run ends."),
           interval: float = typer.Option(2.0, help="Seconds between polls with --watch."),
           as_json: bool = typer.Option(False, "--json", help="Progress as one JSON object.")) -> None:
    """A run's progress: jobs per status, solved tasks, score."""
    from arcfarm.db import reads

    settings = _settings()
    with _session(settings) as session:
        progress = reads.run_progress(session=session, run_id=run)
        if progress is None:
            err.print(f"[red]error:[/red] run {run} not found")
            raise typer.Exit(1)
        if as_json:
            typer.echo(_json(progress))
            return
        if watch:
            _watch(session, run, interval)
            progress = reads.run_progress(session=session, run_id=run)
        _print_status(progress)


def _watch(session, run_id: int, interval: float) -> None:
    from arcfarm.db import reads

    with _progress() as bar_view:
        bar = bar_view.add_task(f"run {run_id}", total=None)
        while True:
            session.expire_all()
            p = reads.run_progress(session=session, run_id=run_id)
            finished = _finished_jobs(p)
            bar_view.update(bar, total=p["n_tasks"], completed=finished,
                            description=f"run {run_id} {p['status']}: {p['n_solved']} solved")
            if p["status"] in RUN_TERMINAL:
                return
            session.rollback()  # end the read transaction, see new commits
            time.sleep(interval)


def _print_status(p: dict[str, Any]) -> None:
    out = Console()
    finished = _finished_jobs(p)
    out.print(f"[bold]run {p['run_id']}[/bold] {p['name']!r}: {p['status']}")
    if p.get("base_training_id") is not None:
        out.print(f"started from training {p['base_training_id']} (arcfarm trainings "
                  f"{p['base_training_id']})")
    out.print("jobs: " + ", ".join(f"{n} {status}" for status, n in p["jobs"].items()))
    out.print(f"solved {p['n_solved']}/{p['n_tasks']}, score {p['score']:.2f}, "
              f"{p['predictions']} predictions, {p['worker_seconds']:.0f} s of worker time")
    with Progress(TextColumn("finished"), BarColumn(), MofNCompleteColumn(), console=out) as bar:
        bar.add_task("", total=p["n_tasks"], completed=finished)


def _finished_jobs(progress: dict[str, Any]) -> int:
    return sum(progress["jobs"][status.value] for status in JOB_TERMINAL)


@app.command()
def export(run: int = typer.Argument(..., min=1, max=MAX_RUN_ID, help="Run id."),
           output: Path = typer.Option(..., "--output", "-o", help="Where to write it.")) -> None:
    """Write a run's submission.json (ARC Prize format; [[0]] where a task has no answer)."""
    from arcfarm.db import reads

    settings = _settings()
    with _session(settings) as session:
        if not reads.run_exists(session=session, run_id=run):
            err.print(f"[red]error:[/red] run {run} not found")
            raise typer.Exit(1)
        data = reads.submission(session=session, run_id=run)
    output.write_text(json.dumps(data))
    err.print(f"wrote {len(data)} tasks to {output}")


@app.command()
def reconcile(stale_after: Optional[float] = typer.Option(
        None, min=1, help="Seconds without a heartbeat before a running job counts as lost "
                          "(default ARCFARM_STALE_AFTER_S).")) -> None:
    """Re-enqueue jobs the database says are queued, and running jobs whose heartbeat is stale,
    unless their message already waits in the broker (embedded mode: run them here). Workers
    also do this every ARCFARM_RECONCILE_S seconds."""
    from arcfarm.jobs import submit as svc
    from arcfarm.jobs.queue import CeleryQueue

    settings = _settings()
    if stale_after is not None:
        settings = settings.model_copy(update={"stale_after_s": stale_after})
    if settings.embedded:  # no broker to send to: run them in this process
        typer.echo(_json({"ran": _drain_embedded(settings)}))
        return
    queue = CeleryQueue(settings)
    try:
        with _session(settings) as session:
            sent = svc.reconcile(session=session, queue=queue, stale_after_s=settings.stale_after_s)
    finally:
        queue.close()
    typer.echo(_json(sent))


def _drain_embedded(settings: Settings) -> dict[int, str]:
    from arcfarm.db.migrate import upgrade_embedded
    from arcfarm.workers.embedded import EmbeddedRunner

    upgrade_embedded(settings)
    runner = EmbeddedRunner(settings)
    try:
        return runner.drain()
    finally:
        runner.close()


# --- demo ------------------------------------------------------------------------------------

@app.command()
def demo(arc_tasks: int = typer.Option(1, "--arc-tasks", min=0,
                                       help="How many of the smallest ARC-AGI-1 training tasks to add."),
         config: str = typer.Option("toy-cpu", help="Config file or bundled name."),
         verbose: bool = typer.Option(False, "--verbose", "-v",
                                      help="Also show the libraries' warnings and progress bars.")) -> None:
    """Run the main job end to end in this process: the committed toy model on a few ARC-format
    tasks (data/demo/) plus the smallest real ARC tasks, recorded in SQLite."""
    if not verbose:
        from arcfarm.cli.quiet import quiet_libraries

        quiet_libraries()
    from arcfarm.arc.datasets import load_taskset
    from arcfarm.jobs import submit as svc
    from arcfarm.learn.config import load_config
    from arcfarm.learn.model_source import resolve_model_path

    settings = _settings().model_copy(update={"database_url": None, "broker_url": None})
    os.environ.setdefault("ARCFARM_HOME", str(settings.home))
    with _errors():
        cfg = load_config(config)
        err.print(f"model: {resolve_model_path(cfg.model)}")
        toy = load_taskset(str(DEMO_TASKS))
        arc = load_taskset("arc-agi-1/training")
        chosen = [(t, toy.solutions.get(t.id)) for t in toy.tasks]
        chosen += [(t, arc.solutions.get(t.id))
                   for t in sorted(arc.tasks, key=_task_size)[:arc_tasks]]
        with _session(settings) as session:
            run_id = svc.create_run(session=session, settings=settings, name="demo",
                                    dataset="demo", config=cfg, tasks=chosen)
    err.print(f"run {run_id}: {len(chosen)} tasks: {', '.join(t.id for t, _ in chosen)}")
    path = run_embedded(settings, run_id, len(chosen))
    with _session(settings) as session:
        from arcfarm.db import reads

        _print_status(reads.run_progress(session=session, run_id=run_id))
    cli = _this_command()
    typer.echo(f"\nsubmission: {path}\n"
               f"database:   {settings.sqlite_path}\n"
               f"look:       {cli} status {run_id}\n"
               f"            sqlite3 {settings.sqlite_path} \"SELECT task_id, status, "
               f"first_solved_epoch, score FROM task_results WHERE run_id = {run_id}\"\n"
               f"dashboard:  {cli} api   then open http://127.0.0.1:8000/ui/runs/{run_id}")


def _this_command() -> str:
    """How to call arcfarm again from here: `arcfarm` when that is on PATH, else the path this
    process was started by (e.g. `.venv/bin/arcfarm` after `make demo`), and without the
    PostgreSQL URL the demo ignored (it always records into the embedded SQLite database)."""
    import shutil
    import sys

    started = Path(sys.argv[0])
    on_path = shutil.which("arcfarm")
    cli = "arcfarm" if on_path and started.name == "arcfarm" and Path(on_path).resolve() == started.resolve() \
        else (os.path.relpath(started) if started.name == "arcfarm" else "arcfarm")
    return f"env -u ARCFARM_DATABASE_URL {cli}" if os.environ.get("ARCFARM_DATABASE_URL") else cli


def _task_size(task) -> int:
    """Cells in all grids: small tasks make short prompts, so the demo runs fast."""
    return sum(p.input.size + p.output.size for p in task.train) + sum(g.size for g in task.test_inputs)
