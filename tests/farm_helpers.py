"""Helpers of the farm tests (imported by them; fixtures live in conftest.py)."""
from __future__ import annotations

import time
from pathlib import Path

import pytest
import sqlalchemy as sa

TABLES = ("runs", "tasks", "solutions", "jobs", "epochs", "predictions", "adapters", "attempts")

# Two small tasks with known test outputs (so scoring and test_correct are exercised).
TASKS = {
    "flip": {"train": [{"input": [[1, 2], [3, 4]], "output": [[2, 1], [4, 3]]},
                       {"input": [[5, 6]], "output": [[6, 5]]}],
             "test": [{"input": [[7, 8]], "output": [[8, 7]]}]},
    "same": {"train": [{"input": [[1, 1], [0, 0]], "output": [[1, 1], [0, 0]]}],
             "test": [{"input": [[2, 0]], "output": [[2, 0]]}, {"input": [[3]], "output": [[3]]}]},
}


def tiny_overrides(model_dir: Path) -> dict:
    """configs/tiny-cpu.yaml made smaller still: 2 epochs (0 and 1) of a few short samples."""
    return {"model": str(model_dir), "initial_predictions": 2, "predictions_per_epoch": 2,
            "samples_per_prompt": 2, "max_epochs": 1, "max_new_tokens": 32, "exec_workers": 1,
            "time_budget_s": 300}


def row_counts(session_factory) -> dict[str, int]:
    with session_factory() as s:
        return {t: s.execute(sa.text(f"SELECT COUNT(*) FROM {t}")).scalar_one() for t in TABLES}


def wait_for(condition, timeout: float, what: str, log: Path | None = None):
    """Poll `condition()` until it returns something truthy; fail with `what` after `timeout` s."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.5)
    tail = log.read_text()[-4000:] if log is not None and log.exists() else ""
    pytest.fail(f"timed out after {timeout:.0f}s waiting for {what}\n{tail}")


FLIP_CODE = "from common import *\n\ndef transform(input_grid):\n    return input_grid[:, ::-1]\n"
SAME_CODE = "from common import *\n\ndef transform(input_grid):\n    return input_grid\n"


def write_history(session, name: str = "history") -> int:
    """A finished run over TASKS["flip"] with two recorded programs (a right flip and a wrong
    identity), written through the real write functions; returns the run id. What `arcfarm
    learn` reads, without sampling anything."""
    import numpy as np

    from arcfarm.arc.prompts import response_text
    from arcfarm.arc.scoring import fingerprint
    from arcfarm.arc.tasks import parse_task
    from arcfarm.db import writes
    from arcfarm.learn.records import EpochRecord, PredictionRecord, TaskResult

    task, solutions = parse_task("flip", TASKS["flip"])
    run_id = writes.create_run(session=session, name=name, config={"max_epochs": 0}, model="tiny",
                               code_version="test", dataset="farm-test", tasks=[(task, solutions)])
    job_id = session.execute(sa.text("SELECT id FROM jobs WHERE run_id = :r"), {"r": run_id}).scalar_one()
    writes.claim_job(session=session, job_id=job_id, worker_host="h", worker_name="w", gpu=None)
    ident = {"dihedral": 0, "colors": list(range(10))}
    preds = []
    for i, (code, flip) in enumerate([(FLIP_CODE, True), (SAME_CODE, False)]):
        outs = [np.asarray(p.input)[:, ::-1] if flip else np.asarray(p.input) for p in task.train]
        tests = [np.asarray(g)[:, ::-1] if flip else np.asarray(g) for g in task.test_inputs]
        right = 2 if flip else 0
        preds.append(PredictionRecord(
            epoch=0, sample_index=i, augmentation=ident, prompt_tokens=100, completion_tokens=30,
            response=response_text(code), code=code, code_hash=f"h{i}", train_outputs=outs,
            test_outputs=tests, grid_errors=[None] * 3, error=None, error_message=None,
            train_correct=right, train_total=2, pixel_score=right / 2, passes_train=flip,
            fingerprint=fingerprint(outs + tests)))
    epoch = EpochRecord(epoch=0, predictions=2, valid=2, unique_outputs=2, relabeled=0,
                        train_loss=None, train_error=None, best_train_correct=2, passes_train=1,
                        sample_s=1.0, execute_s=0.1, relabel_s=0.0, train_s=0.0, reset_s=0.0)
    writes.record_epoch(session=session, job_id=job_id, epoch=epoch, predictions=preds, adapter=None)
    writes.finish_job(session=session, job_id=job_id,
                      result=TaskResult(task_id="flip", attempts=[[preds[0].test_outputs[0]]]))
    return run_id
