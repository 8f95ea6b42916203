"""Fixtures for the database tests: throwaway PostgreSQL/SQLite databases and a synthetic farm history.

Every PostgreSQL test gets its own database (CREATE DATABASE arcfarm_test_<random>, dropped at
the end); the schema always comes from the Alembic migrations. `synthetic` writes two runs over
the same three tasks through the real write functions; its numbers are spelled out in RUN_A and
RUN_B so the expected results of docs/queries.sql can be worked out by hand.
"""
from __future__ import annotations

import os
import secrets
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from types import SimpleNamespace

import numpy as np
import pytest
import sqlalchemy as sa

from arcfarm.arc.tasks import parse_task
from arcfarm.db import migrate, writes
from arcfarm.db.connection import make_db_engine, make_session_factory
from arcfarm.learn.records import EpochRecord, PredictionRecord, TaskResult

PG_SERVER = os.environ.get("ARCFARM_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432")

TASK_JSON = {
    "t1": {"train": [{"input": [[1]], "output": [[2]]}, {"input": [[3]], "output": [[4]]}],
           "test": [{"input": [[5]], "output": [[6]]}]},
    "t2": {"train": [{"input": [[1, 1]], "output": [[2, 2]]}],
           "test": [{"input": [[3, 3]], "output": [[4, 4]]}]},
    "t3": {"train": [{"input": [[7]], "output": [[8]]}],
           "test": [{"input": [[1]], "output": [[2]]}, {"input": [[3]], "output": [[4]]}]},
}
S1, S2, S3A, S3B, WRONG = [[6]], [[4, 4]], [[2]], [[4]], [[9]]


@dataclass
class P:
    """A prediction in shorthand: test outputs (None: the program failed), train grids right, tokens."""

    test: list | None
    train_correct: int
    tokens: int
    fp: str | None = None
    error: str | None = None


# task -> (epochs of predictions, attempts per test input, seconds); failed=True: fail after the epochs.
RUN_A = {
    "t1": ([[P([S1], 2, 100, "f1"), P(None, 0, 50, error="syntax")],
            [P([S1], 2, 100, "f1"), P([WRONG], 1, 80, "f2")]], [[S1]], 10.0),
    "t2": ([[P([WRONG], 0, 60, "g1"), P(None, 0, 70, error="timeout")],
            [P([WRONG], 0, 60, "g1"), P([S2], 1, 90, "g2")]], [[S2, WRONG]], 20.0),
    "t3": ([[P([S3A, WRONG], 1, 40, "h1"), P(None, 0, 40, error="ValueError")],
            [P([S3A, WRONG], 1, 40, "h1"), P(None, 0, 40, error="ValueError")]], [[S3A], [WRONG]], 30.0),
}
RUN_B = {
    "t1": ([[P([S1], 2, 100, "f1"), P([WRONG], 1, 100, "f2")]], [[S1]], 5.0),
    "t2": ([[P([WRONG], 0, 100, "g3"), P(None, 0, 100, error="syntax")]], [[WRONG]], 5.0),
    "t3": ([[P(None, 0, 100, error="timeout"), P(None, 0, 100, error="timeout")]], None, None),
}


@contextmanager
def pg_database():
    """A new, empty PostgreSQL database; dropped on exit."""
    name = f"arcfarm_test_{secrets.token_hex(6)}"
    admin = sa.create_engine(f"{PG_SERVER}/postgres", isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    try:
        yield f"{PG_SERVER}/{name}"
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture
def pg_url():
    with pg_database() as url:
        yield url


@pytest.fixture
def sqlite_url(tmp_path):
    return f"sqlite:///{tmp_path / 'arcfarm.db'}"


@pytest.fixture(params=["postgresql", "sqlite"])
def db_url(request):
    """An empty database of each kind, migrated to head."""
    url = request.getfixturevalue("pg_url" if request.param == "postgresql" else "sqlite_url")
    migrate.upgrade(url)
    return url


@pytest.fixture
def session(db_url):
    engine = make_db_engine(db_url)
    with make_session_factory(engine)() as s:
        yield s
    engine.dispose()


def make_tasks(ids=("t1", "t2", "t3"), with_solutions=True):
    pairs = [parse_task(tid, TASK_JSON[tid]) for tid in ids]
    return [(task, sols if with_solutions else None) for task, sols in pairs]


def prediction(epoch: int, index: int, p: P, train_total: int, n_test: int) -> PredictionRecord:
    failed = p.test is None
    test = [None] * n_test if failed else [np.array(g) for g in p.test]
    return PredictionRecord(
        epoch=epoch, sample_index=index, augmentation={"dihedral": 0, "colors": list(range(10))},
        prompt_tokens=500, completion_tokens=p.tokens, response=f"resp {index}", code=f"# program {index}",
        code_hash=f"hash{index}", train_outputs=[None if failed else np.zeros((1, 1), dtype=np.int64)] * train_total,
        test_outputs=test, grid_errors=[p.error] * (train_total + n_test), error=p.error,
        error_message=None if p.error is None else f"{p.error}: boom", train_correct=p.train_correct,
        train_total=train_total, pixel_score=p.train_correct / train_total,
        passes_train=p.train_correct == train_total, fingerprint=p.fp, seconds=0.1)


def epoch_record(epoch: int, preds: list[PredictionRecord]) -> EpochRecord:
    valid = [p.fingerprint for p in preds if p.fingerprint is not None]
    return EpochRecord(epoch=epoch, predictions=len(preds), valid=len(valid), unique_outputs=len(set(valid)),
                       relabeled=0 if epoch == 0 else 3, train_loss=None if epoch == 0 else 0.5,
                       train_error=None, best_train_correct=max(p.train_correct for p in preds),
                       passes_train=sum(p.passes_train for p in preds), sample_s=1.0, execute_s=0.5,
                       relabel_s=0.0, train_s=0.0 if epoch == 0 else 2.0, reset_s=0.0, train_tokens=100)


def job_ids(session, run_id: int) -> dict[str, int]:
    rows = session.execute(sa.text("SELECT t.task_id, j.id FROM jobs j JOIN tasks t ON t.id = j.task_pk "
                                   "WHERE j.run_id = :r"), {"r": run_id}).all()
    return dict(rows)


def epochs_of(task_id: str, spec) -> list[tuple[EpochRecord, list[PredictionRecord]]]:
    """The (EpochRecord, predictions) pairs of one task of RUN_A/RUN_B, sample indices across epochs."""
    train_total, n_test = len(TASK_JSON[task_id]["train"]), len(TASK_JSON[task_id]["test"])
    out, index = [], 0
    for epoch, shorthand in enumerate(spec[0]):
        preds = []
        for p in shorthand:
            preds.append(prediction(epoch, index, p, train_total, n_test))
            index += 1
        out.append((epoch_record(epoch, preds), preds))
    return out


def write_run(session, name: str, spec: dict) -> int:
    run_id = writes.create_run(session=session, name=name, config={"max_epochs": 1}, model="tiny",
                               code_version="test", dataset="synthetic", tasks=make_tasks())
    for task_id, job_id in sorted(job_ids(session, run_id).items()):
        writes.claim_job(session=session, job_id=job_id, worker_host="h", worker_name="w", gpu="cpu")
        for rec, preds in epochs_of(task_id, spec[task_id]):
            adapter = {"uri": f"file:///a/{job_id}/{rec.epoch}", "bytes": 10} if rec.epoch else None
            writes.record_epoch(session=session, job_id=job_id, epoch=rec, predictions=preds, adapter=adapter)
        _, attempts, seconds = spec[task_id]
        if attempts is None:
            writes.fail_job(session=session, job_id=job_id, error="OutOfMemoryError: boom", final=True)
        else:
            result = TaskResult(task_id=task_id, attempts=[[np.array(g) for g in a] for a in attempts],
                                seconds=seconds)
            writes.finish_job(session=session, job_id=job_id, result=result)
    return run_id


def write_synthetic(session) -> dict[str, int]:
    return {"run_a": write_run(session, "run-a", RUN_A), "run_b": write_run(session, "run-b", RUN_B)}


@pytest.fixture
def synthetic(session) -> dict[str, int]:
    return write_synthetic(session)


@pytest.fixture(scope="module", params=["postgresql", "sqlite"])
def history(request, tmp_path_factory):
    """(session, run ids): the synthetic history written once per module and backend, read-only."""
    with ExitStack() as stack:
        if request.param == "postgresql":
            url = stack.enter_context(pg_database())
        else:
            url = f"sqlite:///{tmp_path_factory.mktemp('history') / 'arcfarm.db'}"
        migrate.upgrade(url)
        engine = make_db_engine(url)
        stack.callback(engine.dispose)
        session = stack.enter_context(make_session_factory(engine)())
        yield session, write_synthetic(session)


@pytest.fixture
def helpers():
    """The builders above, for test modules (conftest is not importable by name)."""
    return SimpleNamespace(make_tasks=make_tasks, epochs_of=epochs_of, job_ids=job_ids, write_run=write_run,
                           prediction=prediction, epoch_record=epoch_record, RUN_A=RUN_A, RUN_B=RUN_B,
                           TASK_JSON=TASK_JSON, S1=S1, S2=S2, S3A=S3A, WRONG=WRONG)
