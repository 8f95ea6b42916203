"""`arcfarm bench scale --gpu`: tasks/hour with 1, 2, ... GPU workers on one host, same task list.

    python -m arcfarm.bench.scale_gpu --gpus 0,1,2,3 --counts 1,2,4 --tasks 8 --out scale-gpu.json

Needs no database or broker (the GPU machines have neither): it measures what the GPUs and the
host's shared parts (CPU cores, PCIe, host memory) allow, not the queue, which part (a) measures.
One process per GPU (CUDA_VISIBLE_DEVICES set before torch is imported) builds the bench's
Llama-3.1-8B-shaped random model with the fast engine and trainer (arcfarm.bench.gpu_bench) once;
then, for each worker count k, the first k processes take the same task list, each asking for the
next task when it finishes one, as a solo Celery worker does. Building once keeps the model
build and CUDA-graph capture (about a minute per GPU) out of every count.

A task is `rounds` rounds of `predictions` predictions (2,000-token prompts, 400 new tokens),
each round after the first preceded by training on `examples` synthetic 2,500-token examples.
"""
from __future__ import annotations

import argparse
import json
import os
import queue
import time
from dataclasses import asdict, dataclass
from typing import Callable


@dataclass(frozen=True)
class GpuTask:
    rounds: int = 4
    predictions: int = 128
    examples: int = 90


def _worker(index: int, gpu: str, inbox, outbox, task: GpuTask, small: bool) -> None:
    os.environ["CUDA_VISIBLE_DEVICES"] = gpu  # before torch is imported in this process
    import random

    from arcfarm.bench import gpu_bench as gb

    shape = gb.SMALL if small else gb.Shape()
    t0 = time.perf_counter()
    model = gb.build_model(small)
    tokenizer = gb.bench_tokenizer()
    trainer = gb.make_trainer(model, tokenizer)
    engine = gb.FastEngine(trainer.model, tokenizer, batch_size=shape.max_batch, stop_ids=[])
    examples = gb.synthetic_examples(tokenizer, random.Random(3), 2 * task.examples,
                                     shape.example_prompt, shape.example_response)
    plan = [(task.predictions, 0)] + [(task.predictions, task.examples)] * (task.rounds - 1)
    gb.run_task(trainer, engine, shape, plan[:2], examples, lambda m: None)  # warm-up: graphs, kernels
    outbox.put((index, round(time.perf_counter() - t0, 1)))
    while (job := inbox.get()) is not None:
        out = gb.run_task(trainer, engine, shape, plan, examples, lambda m: None)
        outbox.put((index, {"task": job, "gpu": gpu, **out}))


def _next(outbox, procs, gpus: list[str]):
    """The next message; a worker that died (CUDA out of memory, a crash) fails the bench by name
    instead of leaving it waiting for a report that never comes."""
    while True:
        try:
            return outbox.get(timeout=5)
        except queue.Empty:
            dead = [g for p, g in zip(procs, gpus) if p.exitcode not in (None, 0)]
            if dead:
                raise RuntimeError(f"GPU worker(s) {', '.join(dead)} died; see their output above")


def _count(k: int, inboxes, outbox, procs, gpus: list[str], n_tasks: int, log) -> dict:
    """n_tasks over the first k workers, each fed its next task as it reports the last one."""
    todo = list(range(n_tasks))
    t0 = time.perf_counter()
    for w in range(min(k, n_tasks)):
        inboxes[w].put(todo.pop(0))
    done = []
    while len(done) < n_tasks:
        w, out = _next(outbox, procs, gpus)
        done.append(out)
        if todo:
            inboxes[w].put(todo.pop(0))
    wall = time.perf_counter() - t0
    per_hour = n_tasks / wall * 3600
    log(f"{k} worker(s): {n_tasks} tasks in {wall:.1f} s = {per_hour:.1f} tasks/hour")
    return {"workers": k, "wall_s": round(wall, 2), "tasks_per_hour": round(per_hour, 2),
            "task_s": [t["seconds"] for t in sorted(done, key=lambda t: t["task"])]}


def run_gpu(gpus: list[str], counts: list[int], n_tasks: int = 8, task: GpuTask = GpuTask(),
            small: bool = False, log: Callable[[str], None] = print,
            on_count: Callable[[dict], None] = lambda partial: None) -> dict:
    """`on_count` gets the result so far after each count (a device call may end mid-run)."""
    import multiprocessing as mp

    if not gpus or any(c < 1 or c > len(gpus) for c in counts):
        raise ValueError(f"worker counts {counts} must lie between 1 and the {len(gpus)} GPUs given")
    ctx = mp.get_context("spawn")
    outbox = ctx.Queue()
    inboxes = [ctx.Queue() for _ in gpus]
    procs = [ctx.Process(target=_worker, args=(i, g, inboxes[i], outbox, task, small))
             for i, g in enumerate(gpus)]
    for p in procs:
        p.start()
    try:
        ready = sorted(_next(outbox, procs, gpus) for _ in procs)
        log("workers ready: " + ", ".join(f"gpu {gpus[i]} in {s} s" for i, s in ready))
        runs = []
        for k in counts:
            runs.append(_count(k, inboxes, outbox, procs, gpus, n_tasks, log))
            on_count(_result(gpus, n_tasks, task, small, runs))
    finally:
        for inbox in inboxes:
            inbox.put(None)
        for p in procs:
            p.join(timeout=60)
            if p.is_alive():
                p.kill()
    return _result(gpus, n_tasks, task, small, runs)


def _result(gpus: list[str], n_tasks: int, task: GpuTask, small: bool, runs: list[dict]) -> dict:
    base = runs[0]["tasks_per_hour"] / runs[0]["workers"]
    for r in runs:  # throughput per worker relative to the smallest count's
        r["efficiency"] = round(r["tasks_per_hour"] / (r["workers"] * base), 3)
    return {"gpus": gpus, "tasks": n_tasks, "task": asdict(task), "runs": runs,
            "model": "small random Llama" if small else "Llama-3.1-8B architecture, random bf16"}


def summary(result: dict, info: dict) -> dict:
    """The issue's keys (1 vs 2 workers) next to every count measured."""
    by = {r["workers"]: r["tasks_per_hour"] for r in result["runs"]}
    out = {**info, **result, "distinct_gpus": len(set(result["gpus"]))}
    if 1 in by and 2 in by:
        out.update(tasks_per_hour_1=by[1], tasks_per_hour_2=by[2], ratio=round(by[2] / by[1], 3))
    return out


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--gpus", default="0,1", help="GPU ids, e.g. 0,1,2,3")
    ap.add_argument("--counts", default="", help="Worker counts, e.g. 1,2,4 (default: 1 and all)")
    ap.add_argument("--tasks", type=int, default=8)
    ap.add_argument("--rounds", type=int, default=GpuTask.rounds)
    ap.add_argument("--predictions", type=int, default=GpuTask.predictions)
    ap.add_argument("--examples", type=int, default=GpuTask.examples)
    ap.add_argument("--small", action="store_true", help="Small random model (CPU ok).")
    ap.add_argument("--out", help="Write the JSON here too.")
    a = ap.parse_args(argv)
    gpus = [g.strip() for g in a.gpus.split(",") if g.strip()]
    counts = [int(c) for c in a.counts.split(",")] if a.counts else sorted({1, len(gpus)})
    if a.rounds < 1 or a.predictions < 1 or a.examples < 1 or a.tasks < 1:
        ap.error("--tasks, --rounds, --predictions and --examples must be at least 1")
    from arcfarm.bench import gpu_bench as gb

    info = gb.device_info()

    def save(result: dict) -> str:
        text = json.dumps(summary(result, info), indent=2)
        if a.out:
            with open(a.out, "w") as f:
                f.write(text + "\n")
        return text

    result = run_gpu(gpus, counts, a.tasks, GpuTask(a.rounds, a.predictions, a.examples), a.small,
                     log=lambda m: print(m, flush=True), on_count=save)
    print(save(result))


if __name__ == "__main__":
    main()
