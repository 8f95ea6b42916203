"""The stand-in worker of `arcfarm bench scale`: a real solo-pool Celery worker whose "model" sleeps.

    celery -A arcfarm.bench.scale_worker:app worker --pool solo -Q <bench queues>

Each message `arcfarm.bench.standin_job(job_id, task_s)` goes through the same database calls as
the real runner, in the same order, with rows of the real size: claim_job; per epoch (4) the
should_stop heartbeat, then record_epoch with 128 predictions (~1.5 kB of code, a response, the
outputs) and, from epoch 1, an adapter row; finish_job with the attempts. The GPU work is
`time.sleep(task_s / 4)` per epoch. No torch is imported, so 64 of these fit in a few GB.

Timings go to $ARCFARM_BENCH_DIR/<pid>.jsonl, one line per job: wall-clock start and end, and the
seconds spent in database calls. `worker_ready` writes $ARCFARM_BENCH_DIR/ready-<pid>.
"""
from __future__ import annotations

import hashlib
import json
import os
import random
import time
from functools import cache
from pathlib import Path
from typing import Any

from celery import Celery
from celery.signals import worker_ready

from arcfarm.db import writes
from arcfarm.db.connection import make_db_engine, make_session_factory
from arcfarm.learn.records import EpochRecord, PredictionRecord, TaskResult
from arcfarm.settings import get_settings

STANDIN_JOB = "arcfarm.bench.standin_job"
EPOCHS, PREDICTIONS, CODE_BYTES = 4, 128, 1500

app = Celery("arcfarm-bench")


@app.on_configure.connect
def _configure(sender: Celery, **_: Any) -> None:
    from arcfarm.jobs.broker import celery_config

    sender.config_from_object({**celery_config(get_settings()), "task_routes": {}})


@cache
def _context() -> dict[str, Any]:
    settings = get_settings()
    return {"sessions": make_session_factory(make_db_engine(settings.db_url)),
            "out": Path(os.environ["ARCFARM_BENCH_DIR"]),
            "name": os.environ.get("ARCFARM_WORKER_NAME", f"bench-{os.getpid()}")}


@worker_ready.connect
def _ready(**_: Any) -> None:
    (Path(os.environ["ARCFARM_BENCH_DIR"]) / f"ready-{os.getpid()}").touch()


class _Clock:
    """Sums the wall time of the database calls made through it."""

    def __init__(self, sessions):
        self.sessions, self.seconds, self.calls = sessions, 0.0, 0
        self.by_call: dict[str, float] = {}

    def __call__(self, fn, **kwargs):
        t0 = time.perf_counter()
        with self.sessions() as session:
            out = fn(session=session, **kwargs)
        spent = time.perf_counter() - t0
        self.seconds += spent
        self.calls += 1
        self.by_call[fn.__name__] = self.by_call.get(fn.__name__, 0.0) + spent
        return out


@cache
def _code_text() -> str:
    rng = random.Random(0)
    return "".join(rng.choice("abcdefghij klmnop\n()=+") for _ in range(CODE_BYTES))


def predictions(epoch: int, rng: random.Random, n_train: int = 3, n_test: int = 1,
                side: int = 10) -> list[PredictionRecord]:
    """PREDICTIONS records of the real shape: program text, response, one output per input."""
    import numpy as np

    base = _code_text()
    grid = np.asarray([[rng.randrange(10) for _ in range(side)] for _ in range(side)])
    records = []
    for i in range(PREDICTIONS):
        code = f"# sample {epoch * PREDICTIONS + i} {rng.getrandbits(32)}\n{base}"
        records.append(PredictionRecord(
            epoch=epoch, sample_index=epoch * PREDICTIONS + i,
            augmentation={"dihedral": rng.randrange(8), "colors": list(range(10))},
            prompt_tokens=2000, completion_tokens=500, response=f"```python\n{code}\n```",
            code=code, code_hash=hashlib.sha256(code.encode()).hexdigest()[:16],
            train_outputs=[grid] * n_train, test_outputs=[grid] * n_test,
            grid_errors=[None] * (n_train + n_test), error=None, error_message=None,
            train_correct=rng.randrange(n_train + 1), train_total=n_train, pixel_score=0.5,
            passes_train=False, fingerprint=f"{rng.getrandbits(64):016x}", seconds=0.01))
    return records


def _epoch(epoch: int) -> EpochRecord:
    return EpochRecord(epoch=epoch, predictions=PREDICTIONS, valid=PREDICTIONS, unique_outputs=40,
                       relabeled=0 if epoch == 0 else 40, train_loss=None if epoch == 0 else 0.5,
                       train_error=None, best_train_correct=2, passes_train=0, sample_s=1.0,
                       execute_s=0.1, relabel_s=0.0, train_s=0.0 if epoch == 0 else 1.0,
                       reset_s=0.0)


@app.task(name=STANDIN_JOB, acks_late=True, ignore_result=True)
def standin_job(job_id: int, task_s: float) -> str:
    ctx = _context()
    db = _Clock(ctx["sessions"])
    start = time.time()
    claim = db(writes.claim_job, job_id=job_id, worker_host=os.uname().nodename,
               worker_name=ctx["name"], gpu=os.environ.get("CUDA_VISIBLE_DEVICES") or None)
    if claim is None:
        return "skipped"
    rng = random.Random(job_id)
    for epoch in range(EPOCHS):
        db(writes.heartbeat, job_id=job_id)  # the loop's should_stop poll
        records = predictions(epoch, rng)  # made before the "GPU" time: not database time
        time.sleep(task_s / EPOCHS)
        adapter = None if epoch == 0 else {
            "uri": f"file:///bench/{claim.run_id}/{job_id}/epoch-{epoch}", "bytes": 335_000_000,
            "sha256": hashlib.sha256(f"{job_id}-{epoch}".encode()).hexdigest(),
            "lora_config": {"lora_rank": 32}}
        db(writes.record_epoch, job_id=job_id, epoch=_epoch(epoch), predictions=records,
           adapter=adapter)
    n_test = len(claim.task_json["test"])
    grid = [[1, 2], [3, 4]]
    result = TaskResult(task_id=claim.task_id, epochs=[], attempts=[[grid, grid]] * n_test,
                        stop_reason="max_epochs", seconds=task_s)
    db(writes.finish_job, job_id=job_id, result=result)
    end = time.time()
    line = {"job_id": job_id, "start": start, "end": end, "db_s": db.seconds, "db_calls": db.calls,
            "db_by_call_s": db.by_call, "task_s": task_s}
    with (ctx["out"] / f"{os.getpid()}.jsonl").open("a") as f:
        f.write(json.dumps(line) + "\n")
    return "done"
