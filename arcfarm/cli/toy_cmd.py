"""`arcfarm toy ...`: synthesize BARC-style tasks, train the toy induction model, evaluate it.

    arcfarm toy synth --n 60000 --heldout 200 --seed 0 --out data/toy/train.jsonl --workers 16
    arcfarm toy synth --family all --n 64 --validation 24 --seed 0 --out data/toy/families
    arcfarm toy train --tasks data/toy/train.jsonl --out models/toy --minutes 10
    arcfarm toy train --tasks data/toy/train.jsonl --out models/toy-aug --minutes 12 --augment-frames 4
    arcfarm toy eval --model models/toy --tasks data/toy/train.heldout.jsonl --json > toy-eval.json
    arcfarm toy plot toy-eval.json --out toy-eval.png
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

import typer

from arcfarm.cli.main import app

toy_app = typer.Typer(no_args_is_help=True, help="The toy induction model: synthetic tasks, training, eval.")
app.add_typer(toy_app, name="toy")


def _machine() -> dict:
    """Where a measurement ran: CPU count, platform, torch and its threads, GPU, commit."""
    import os
    import platform
    import subprocess

    import torch

    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
    gpu = torch.cuda.get_device_name(0) if torch.cuda.is_available() else None
    return {"cpus": os.cpu_count(), "platform": platform.platform(), "torch": torch.__version__,
            "torch_threads": 1 if gpu is None else torch.get_num_threads(), "gpu": gpu, "commit": commit or None}


def _err(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


@toy_app.command()
def synth(
    n: int = typer.Option(..., help="Training tasks to write (with --family: test tasks per family)."),
    out: Path = typer.Option(..., help="Training JSONL; held-out tasks go to OUT.heldout.jsonl. "
                                       "With --family: a directory for FAMILY.validation/test.jsonl."),
    heldout: int = typer.Option(200, help="Held-out tasks (unseen compositions)."),
    seed: int = typer.Option(0),
    workers: int = typer.Option(1, help="Generator processes."),
    family: str = typer.Option("", help="Write a task family instead of training data: in_distribution, "
                                        "depth4, out_of_range, count_extrapolation, or all."),
    validation: int = typer.Option(24, help="With --family: validation tasks per family."),
) -> None:
    """Write synthetic tasks whose rendered programs were executed and checked."""
    if family:
        from arcfarm.toy.families import FAMILIES, write_families

        names = list(FAMILIES) if family == "all" else [family]
        if any(name not in FAMILIES for name in names):
            _err(f"error: unknown family {family!r}; choose one of {', '.join(FAMILIES)} or all")
            raise typer.Exit(2)
        try:
            stats = write_families(names, out, validation=validation, test=n, seed=seed, log=_err)
        except ValueError as exc:
            _err(f"error: {exc}")
            raise typer.Exit(2)
        print(json.dumps(stats, indent=2))
        return
    from arcfarm.toy.synth import synthesize

    stats = synthesize(n, out, heldout=heldout, seed=seed, workers=workers, log=_err)
    print(json.dumps(stats, indent=2))


@toy_app.command()
def train(
    tasks: Path = typer.Option(..., help="A JSONL file written by `toy synth`."),
    out: Path = typer.Option(Path("models/toy"), help="Where save_pretrained writes."),
    minutes: float = typer.Option(10.0, help="Wall-clock budget of the training loop."),
    tiny_steps: int = typer.Option(0, help="CPU smoke mode: a tiny model, this many steps."),
    batch_tokens: int = typer.Option(65536, help="Padded tokens per optimizer step."),
    learning_rate: float = typer.Option(1e-3),
    seed: int = typer.Option(0),
    device: str = typer.Option("auto"),
    compile_: bool = typer.Option(False, "--compile", help="torch.compile the model."),
    augment_frames: int = typer.Option(0, help="Train on every task in up to K frames (identity, "
                                                "then dihedral x colours, as the loop samples)."),
    augment_workers: int = typer.Option(1, help="Processes that write the augmented frames and, "
                                                 "when more than one, encode the examples."),
    deadline_minutes: float = typer.Option(0.0, help="End training early enough that setup, training "
                                                     "and saving fit in this many minutes (0: no limit)."),
) -> None:
    """Train the toy Llama from scratch; prints the summary JSON."""
    from arcfarm.toy.train import TrainSettings, run

    if augment_frames < 0:
        _err(f"error: --augment-frames must be >= 0, got {augment_frames}")
        raise typer.Exit(2)
    settings = TrainSettings(tasks=tasks, out=out, minutes=minutes, tiny_steps=tiny_steps,
                             batch_tokens=batch_tokens, learning_rate=learning_rate, seed=seed,
                             device=device, compile=compile_, augment_frames=augment_frames,
                             augment_workers=augment_workers, deadline_minutes=deadline_minutes)
    print(json.dumps(run(settings), indent=2))


@toy_app.command("eval")
def eval_(
    model: str = typer.Option(..., help="A model directory written by `toy train`."),
    tasks: str = typer.Option(..., help="Held-out JSONL written by `toy synth`, or a dataset such as "
                                        "arc-agi-1/evaluation."),
    budget: int = typer.Option(128, help="Predictions per task and schedule (multiple of 8)."),
    seeds: int = typer.Option(3, help="Number of seeds per schedule."),
    first_seed: int = typer.Option(0, help="Seeds first_seed..first_seed+seeds-1."),
    offset: int = typer.Option(0, help="Skip this many tasks first (after the filters)."),
    limit: int = typer.Option(0, help="At most this many tasks (0 = all)."),
    only: str = typer.Option("", help="Comma-separated schedule names, e.g. 32+3x32."),
    max_grid: int = typer.Option(0, help="Keep tasks whose train grids and test inputs fit N x N."),
    max_prompt_tokens: int = typer.Option(0, help="Keep tasks whose prompt has at most N tokens."),
    ids: str = typer.Option("", help="Comma-separated task ids to run (after the filters)."),
    set_: list[str] = typer.Option([], "--set", help="Override a loop config key: key=value."),
    workers: int = typer.Option(1, help="Solver processes side by side (one GPU serves several)."),
    as_json: bool = typer.Option(False, "--json", help="Print the result JSON on stdout."),
    out: Path = typer.Option(None, "--out", help="Also write the result JSON here."),
    plot_out: Path = typer.Option(None, "--plot", help="Also draw pass@n vs predictions here."),
) -> None:
    """Sampling only vs search-and-learn at an equal prediction budget."""
    from arcfarm.toy.eval import evaluate, plot

    def names(text: str) -> tuple[str, ...]:
        return tuple(x.strip() for x in text.split(",") if x.strip())

    try:
        result = evaluate(model, tasks, budget=budget, seeds=tuple(range(first_seed, first_seed + seeds)),
                          offset=offset, limit=limit, only=names(only), max_grid=max_grid,
                          max_prompt_tokens=max_prompt_tokens, ids=names(ids), overrides=set_,
                          workers=workers, log=_err)
    except ValueError as exc:
        _err(f"error: {exc}")
        raise typer.Exit(2)
    if out is not None:
        out.write_text(json.dumps(result))
    if plot_out is not None:
        plot(result, plot_out)
    if as_json:
        print(json.dumps(result))
    else:
        for s in result["schedules"]:
            print(f"{s['schedule']:>10}  pass@2 {s['pass_at_2']}  pass@n {s['pass_at_n']}")


@toy_app.command("plot")
def plot_(
    result: Path = typer.Argument(..., help="JSON written by `toy eval --json`."),
    out: Path = typer.Option(Path("toy-eval.png")),
) -> None:
    """Draw pass@n against predictions spent, one line per schedule."""
    from arcfarm.toy.eval import plot

    print(plot(json.loads(result.read_text()), out))


@toy_app.command("frames")
def frames(
    model: str = typer.Option("models/toy", help="A model directory written by `toy train`."),
    tasks: Path = typer.Option(Path("data/toy/heldout.jsonl"), help="Synthetic tasks (JSONL of `toy synth`)."),
    limit: int = typer.Option(4, help="Sample on the first N tasks (0 = skip sampling)."),
    samples: int = typer.Option(4, help="Programs sampled per frame (9 frames per task)."),
    likelihood_limit: int = typer.Option(40, help="Score the known program's likelihood on the first N "
                                                  "tasks (0 = skip)."),
    seed: int = typer.Option(0),
    temperature: float = typer.Option(1.0),
    out: Path = typer.Option(None, "--out", help="Write the result JSON here."),
) -> None:
    """Identity frame vs augmented frames: sampled programs' validity and solve rates per frame,
    and the model's likelihood of the program that solves each frame."""
    from arcfarm.arc.tasks import parse_task
    from arcfarm.toy.frame_preference import measure, measure_likelihoods
    from arcfarm.toy.synth import load_jsonl

    if min(limit, likelihood_limit) < 0 or samples < 1:
        _err(f"error: --limit and --likelihood-limit must be >= 0 and --samples >= 1, "
             f"got {limit}, {likelihood_limit} and {samples}")
        raise typer.Exit(2)
    try:
        records = load_jsonl(tasks)
        chosen = [parse_task(r["id"], r) for r in records[:limit]]
        if any(r.get("steps") is None for r in records[:likelihood_limit]):
            raise ValueError(f"{tasks}: the likelihood probe needs synthetic tasks (with their steps)")
    except (OSError, ValueError, KeyError) as exc:
        _err(f"error: {exc}")
        raise typer.Exit(2)
    result: dict = {"tasks_source": str(tasks), "machine": _machine()}
    if likelihood_limit:
        result["likelihood"] = measure_likelihoods(model, records[:likelihood_limit], seed=seed, log=_err)
    if limit:
        result["sampling"] = measure(model, chosen, samples=samples, seed=seed, temperature=temperature, log=_err)
    if out is not None:
        out.write_text(json.dumps(result, indent=1) + "\n")
    brief = {k: {key: result[k][key] for key in ("groups", "identity_minus_augmented")}
             for k in ("likelihood", "sampling") if k in result}
    print(json.dumps(brief, indent=1))
