"""Writes of the farm: enqueue a run, claim a job, record epochs, finish or fail jobs, cancel runs.

Each function is one transaction: it commits before returning and rolls back on error. Each is
idempotent, because Celery delivers at least once: a redelivered or resumed job re-records an
epoch with the same (job, epoch) and (job, sample_index) keys, which INSERT ... ON CONFLICT turns
into no-ops or updates in place, never into duplicate rows (predictions on PostgreSQL: the stored
ones are left out under the job's row lock and the rest go in with COPY). Correctness (`test_correct`,
`attempts.correct`) is computed here from the solutions the job's own run supplied, never by
the worker, which never sees test outputs, and never from another run's.
"""
from __future__ import annotations

import json
from contextlib import contextmanager
from dataclasses import dataclass, fields
from datetime import timedelta, timezone
from typing import Any, Iterator, Protocol, Sequence

import numpy as np
import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from arcfarm.arc.scoring import any_attempt_correct
from arcfarm.db.models import (
    Adapter,
    Attempt,
    Epoch,
    Job,
    Prediction,
    Run,
    Solution,
    TaskRow,
    utcnow,
)
from arcfarm.db.status import DEFAULT_QUEUE, JOB_OPEN, JOB_TERMINAL, RUN_OPEN, JobStatus, RunStatus
from arcfarm.learn.records import EpochRecord, PredictionRecord, TaskResult

ADAPTER_FIELDS = ("uri", "sha256", "bytes", "lora_config")


class TaskLike(Protocol):
    """What create_run needs of arcfarm.arc.tasks.Task."""

    id: str
    test_inputs: Sequence[np.ndarray]

    def to_json(self) -> dict[str, Any]: ...
    def content_hash(self) -> str: ...


@dataclass(frozen=True)
class JobClaim:
    """What a worker needs to run (or resume) one job."""

    job_id: int
    run_id: int
    task_id: str
    dataset: str
    config: dict[str, Any]
    task_json: dict[str, Any]
    epochs_done: int  # last committed epoch, -1 for none: resume after it
    delivery_count: int


@contextmanager
def _transaction(session: Session) -> Iterator[None]:
    try:
        yield
        session.commit()
    except BaseException:
        session.rollback()
        raise


def _insert(session: Session, model: type) -> Any:
    """A dialect-specific INSERT (it has on_conflict_do_nothing / on_conflict_do_update)."""
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        return pg_insert(model.__table__)
    if dialect == "sqlite":
        return sqlite_insert(model.__table__)
    raise NotImplementedError(f"arcfarm.db supports postgresql and sqlite, not {dialect}")


def _upsert(session: Session, model: type, rows: list[dict[str, Any]], keys: list[str],
            keep: tuple[str, ...] = ("created_at",)) -> None:
    """Insert rows; where `keys` already exist, update every other column except `keep`."""
    if not rows:
        return
    stmt = _insert(session, model)
    update = {c: stmt.excluded[c] for c in rows[0] if c not in keys and c not in keep}
    session.execute(stmt.on_conflict_do_update(index_elements=keys, set_=update), rows)


def _grid_json(grid: Any) -> list[list[int]] | None:
    return None if grid is None else np.asarray(grid).tolist()


def _expected_cost(task_json: dict[str, Any]) -> float:
    """Cells in all grids of the task: a proxy for prompt length, hence for the job's GPU time."""
    grids = [g for pair in task_json["train"] for g in (pair["input"], pair["output"])]
    grids += [t["input"] for t in task_json["test"]]
    return float(sum(len(g) * len(g[0]) for g in grids))


# --- enqueue -------------------------------------------------------------------------------------

# Rows per statement: far below PostgreSQL's 65,535 bind parameters for any table here.
CHUNK_ROWS = 1000


def _chunks(items: Sequence[Any], size: int = CHUNK_ROWS) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start:start + size]


def _task_rows(session: Session, dataset: str,
               tasks: Sequence[tuple[TaskLike, Sequence[np.ndarray] | None]]) -> list[tuple[int, dict[str, Any]]]:
    """(tasks.id, task_json) per task, inserting the (dataset, id, content hash) rows not stored
    yet: a few multi-row statements per CHUNK_ROWS tasks."""
    rows = []
    for task, solutions in tasks:
        if solutions is not None and len(solutions) != len(task.test_inputs):
            raise ValueError(f"task {task.id!r}: {len(solutions)} solutions for "
                             f"{len(task.test_inputs)} test inputs")
        rows.append(dict(dataset=dataset, task_id=task.id, content_hash=task.content_hash(),
                         task_json=task.to_json()))

    def stored(chunk: Sequence[dict[str, Any]]) -> dict[tuple[str, str], int]:
        found = session.execute(sa.select(TaskRow.id, TaskRow.task_id, TaskRow.content_hash)
                                .where(TaskRow.dataset == dataset,
                                       TaskRow.task_id.in_([r["task_id"] for r in chunk]))).all()
        return {(task_id, content_hash): id_ for id_, task_id, content_hash in found}

    pk: dict[tuple[str, str], int] = {}
    for chunk in _chunks(rows):
        known = stored(chunk)
        new = [r for r in chunk if (r["task_id"], r["content_hash"]) not in known]
        if new:  # tasks seen before (the same dataset again) are not sent to the database again
            identity = ["dataset", "task_id", "content_hash"]
            session.execute(_insert(session, TaskRow).on_conflict_do_nothing(index_elements=identity), new)
            known = stored(chunk)
        pk.update(known)
    return [(pk[(r["task_id"], r["content_hash"])], r["task_json"]) for r in rows]


def _insert_solutions(session: Session, run_id: int, task_pks: Sequence[int],
                      tasks: Sequence[tuple[TaskLike, Sequence[np.ndarray] | None]]) -> None:
    """The run's own solutions, one row per task it gave test outputs for (a new run: no conflict)."""
    rows = [dict(run_id=run_id, task_pk=key, test_outputs=[_grid_json(g) for g in solutions])
            for key, (_, solutions) in zip(task_pks, tasks) if solutions is not None]
    for chunk in _chunks(rows):
        session.execute(_insert(session, Solution), chunk)


def create_run(*, session: Session, name: str, config: dict[str, Any], model: str, code_version: str,
               dataset: str, tasks: Sequence[tuple[TaskLike, Sequence[np.ndarray] | None]],
               queue: str = DEFAULT_QUEUE, priority: int = 0,
               base_training_id: int | None = None) -> int:
    """Insert a run, its tasks (reusing stored ones), their solutions and one queued job per task.

    Enqueue the Celery messages only after this returns: the rows must exist when a worker looks.
    """
    with _transaction(session):
        run = Run(name=name, config=config, model=model, code_version=code_version,
                  status=RunStatus.QUEUED, dataset=dataset, queue=queue, priority=priority,
                  created_at=utcnow(), base_training_id=base_training_id)
        session.add(run)
        session.flush()
        if tasks:
            now = utcnow()
            stored = _task_rows(session, dataset, tasks)
            _insert_solutions(session, run.id, [task_pk for task_pk, _ in stored], tasks)
            jobs = [dict(run_id=run.id, task_pk=task_pk, status=JobStatus.QUEUED, queued_at=now,
                         expected_cost=_expected_cost(task_json))
                    for task_pk, task_json in stored]
            for chunk in _chunks(jobs):
                session.execute(_insert(session, Job).on_conflict_do_nothing(
                    index_elements=["run_id", "task_pk"]), chunk)
    return run.id


# --- worker side ---------------------------------------------------------------------------------

def _lock_job(session: Session, job_id: int) -> Job | None:
    """The job row, locked until commit on PostgreSQL (SQLite serialises writers anyway)."""
    stmt = (sa.select(Job).where(Job.id == job_id).with_for_update()
            .execution_options(populate_existing=True))
    return session.scalars(stmt).one_or_none()


def claim_job(*, session: Session, job_id: int, worker_host: str, worker_name: str,
              gpu: str | None, stale_after_s: float | None = None) -> JobClaim | None:
    """Mark a queued (or redelivered running) job running; None if there is nothing to take.

    Nothing to take: the job is done, failed or cancelled, or (with `stale_after_s`) it is
    running elsewhere with a heartbeat younger than `stale_after_s` - a duplicate message of a
    live job must not run it twice at once. The same worker may always re-claim its own job.
    Without `stale_after_s` a running job is taken whatever its heartbeat says.
    """
    with _transaction(session):
        job = _lock_job(session, job_id)
        if job is None or job.status not in JOB_OPEN:
            return None
        if job.status == JobStatus.RUNNING and stale_after_s is not None \
                and job.worker_name != worker_name and _fresh(job.heartbeat_at, stale_after_s):
            return None
        now = utcnow()
        job.status, job.heartbeat_at = JobStatus.RUNNING, now
        job.delivery_count += 1
        job.worker_host, job.worker_name, job.gpu = worker_host, worker_name, gpu
        job.started_at = job.started_at or now
        if job.epochs_done >= 0:
            job.resumed_from_epoch = job.epochs_done
        session.execute(sa.update(Run).where(Run.id == job.run_id, Run.status == RunStatus.QUEUED)
                        .values(status=RunStatus.RUNNING, started_at=now)
                        .execution_options(synchronize_session=False))
        run = session.get(Run, job.run_id, populate_existing=True)
        task = session.get(TaskRow, job.task_pk)
        return JobClaim(job_id=job.id, run_id=job.run_id, task_id=task.task_id, dataset=task.dataset,
                        config=run.config, task_json=task.task_json, epochs_done=job.epochs_done,
                        delivery_count=job.delivery_count)


def _fresh(heartbeat_at: Any, stale_after_s: float) -> bool:
    if heartbeat_at is None:
        return False
    if heartbeat_at.tzinfo is None:  # SQLite hands back naive UTC
        heartbeat_at = heartbeat_at.replace(tzinfo=timezone.utc)
    return utcnow() - heartbeat_at < timedelta(seconds=stale_after_s)


def _job_solutions(session: Session, job_id: int, lock: bool = False) -> list[list[list[int]]] | None:
    """The solutions the job's own run supplied (None without them: never another run's);
    with `lock` (PostgreSQL only) the job row is also locked until commit."""
    stmt = (sa.select(Solution.test_outputs).select_from(Job)
            .join(Solution, (Solution.task_pk == Job.task_pk) & (Solution.run_id == Job.run_id),
                  isouter=True).where(Job.id == job_id))
    if lock and session.get_bind().dialect.name == "postgresql":
        # FOR NO KEY UPDATE: what the UPDATE of jobs at the end of record_epoch takes anyway,
        # taken first so two deliveries of one job record their epochs one after the other.
        stmt = stmt.with_for_update(of=Job, key_share=True)
    return session.scalar(stmt)


# PredictionRecord's fields, read one by one: `to_json` goes through dataclasses.asdict, which
# deep-copies every numpy grid before converting it - half of record_epoch's time under cProfile
# for 128 predictions with 4 grids each (the bench's epoch).
_PREDICTION_FIELDS = tuple(f.name for f in fields(PredictionRecord))
_PREDICTION_JSON = ("augmentation", "train_outputs", "test_outputs", "grid_errors")  # JSON columns


def _prediction_row(job_id: int, rec: PredictionRecord,
                    solutions: list[list[list[int]]] | None) -> dict[str, Any]:
    row = {name: getattr(rec, name) for name in _PREDICTION_FIELDS}
    row["train_outputs"] = [_grid_json(g) for g in rec.train_outputs]
    row["test_outputs"] = test = [_grid_json(g) for g in rec.test_outputs]
    for key in ("response", "code", "error_message"):  # PostgreSQL text cannot hold NUL
        if isinstance(row.get(key), str) and "\x00" in row[key]:
            row[key] = row[key].replace("\x00", "\ufffd")
    row["output_fingerprint"] = row.pop("fingerprint")
    row["job_id"] = job_id
    row["test_correct"] = None if solutions is None else (  # the lists above, not the grids again
        len(test) == len(solutions) and all(g is not None and g == s for g, s in zip(test, solutions)))
    return row


def _insert_predictions(session: Session, job_id: int, rows: list[dict[str, Any]]) -> None:
    """Insert the rows whose (job_id, sample_index) is not stored yet; stored ones stay as they are."""
    if session.get_bind().dialect.name != "postgresql":
        stmt = _insert(session, Prediction).on_conflict_do_nothing(index_elements=["job_id", "sample_index"])
        session.execute(stmt, rows)
        return
    # PostgreSQL: COPY, with the JSON serialised once here. An executemany of INSERT ... ON
    # CONFLICT costs a statement execution per row on the server plus SQLAlchemy's and psycopg's
    # per-row parameter handling. COPY cannot skip conflicts, so the rows already stored (a
    # re-recorded epoch) are left out first; that is race-free because record_epoch holds the
    # job row's lock (_job_solutions(lock=True)) and is the only writer of a job's predictions.
    stored = set(session.scalars(sa.select(Prediction.sample_index).where(
        Prediction.job_id == job_id, Prediction.sample_index.in_([r["sample_index"] for r in rows]))))
    new: dict[int, dict[str, Any]] = {}
    for row in rows:  # the first of duplicate sample indices wins, as with ON CONFLICT DO NOTHING
        if row["sample_index"] not in stored:
            new.setdefault(row["sample_index"], row)
    if not new:
        return
    _lz4_for_this_transaction(session)
    columns = list(rows[0])
    json_at = [i for i, c in enumerate(columns) if c in _PREDICTION_JSON]
    copy_sql = f"COPY {Prediction.__tablename__} ({', '.join(columns)}) FROM STDIN"
    raw = session.connection().connection.driver_connection  # psycopg, inside this transaction
    with raw.cursor() as cursor, cursor.copy(copy_sql) as copy:
        for row in new.values():
            values = list(row.values())
            for i in json_at:  # Python None is SQL NULL (none_as_null), as through the ORM type
                values[i] = None if values[i] is None else _JSON.encode(values[i])
            copy.write_row(values)


# Compact and without the circular-reference check (rows are plain lists and dicts): ~15% faster.
_JSON = json.JSONEncoder(check_circular=False, separators=(",", ":"))


def _lz4_for_this_transaction(session: Session) -> None:
    """Compress this transaction's TOASTed values (a prediction row is ~4 kB: over PostgreSQL's
    2 kB threshold) with lz4 instead of the default pglz: a third less server CPU per epoch of
    128 predictions for ~8% more bytes, and faster reads. Only columns without an explicit
    COMPRESSION follow this setting (all of ours); stored values keep the method they were
    written with, so both kinds read back alike. Skipped where the server lacks lz4."""
    conn = session.connection()
    if "arcfarm_lz4" not in conn.info:  # asked once per pooled connection
        conn.info["arcfarm_lz4"] = bool(conn.scalar(sa.text(
            "SELECT 'lz4' = ANY(enumvals) FROM pg_settings WHERE name = 'default_toast_compression'")))
    if conn.info["arcfarm_lz4"]:
        conn.execute(sa.text("SET LOCAL default_toast_compression = lz4"))


def _adapter_row(job_id: int, epoch: int, adapter: dict[str, Any]) -> dict[str, Any]:
    unknown = set(adapter) - set(ADAPTER_FIELDS)
    if unknown or "uri" not in adapter:
        raise ValueError(f"adapter for job {job_id} epoch {epoch}: needs 'uri'; "
                         f"unknown keys {sorted(unknown)} (allowed: {', '.join(ADAPTER_FIELDS)})")
    row = {name: adapter.get(name) for name in ADAPTER_FIELDS}
    return {"job_id": job_id, "epoch": epoch, **row, "created_at": utcnow()}


def record_epoch(*, session: Session, job_id: int, epoch: EpochRecord,
                 predictions: Sequence[PredictionRecord], adapter: dict[str, Any] | None = None) -> bool:
    """Commit one epoch: its row, its predictions, its adapter, and jobs.epochs_done.

    Re-recording an epoch (redelivery, resume) changes no row counts. Returns whether the job is
    still running; False tells the worker to stop (the job was cancelled or finished elsewhere).
    """
    with _transaction(session):
        solutions = _job_solutions(session, job_id, lock=True)
        epoch_row = {"job_id": job_id, **epoch.to_json(), "created_at": utcnow()}
        _upsert(session, Epoch, [epoch_row], ["job_id", "epoch"])
        rows = [_prediction_row(job_id, rec, solutions) for rec in predictions]
        if rows:
            _insert_predictions(session, job_id, rows)
        if adapter is not None:
            _upsert(session, Adapter, [_adapter_row(job_id, epoch.epoch, adapter)], ["job_id", "epoch"])
        done = sa.case((Job.epochs_done < epoch.epoch, epoch.epoch), else_=Job.epochs_done)
        status = session.execute(sa.update(Job).where(Job.id == job_id)
                                 .values(epochs_done=done, heartbeat_at=utcnow(),
                                         **_job_counters(session, job_id))
                                 .returning(Job.status)
                                 .execution_options(synchronize_session=False)).scalar_one()
    return status == JobStatus.RUNNING


def _job_counters(session: Session, job_id: int) -> dict[str, Any]:
    """What status pages read instead of the job's predictions (recounted from all of them, so
    re-recording an epoch leaves the same numbers): predictions, those that pass every train
    pair, the first test-correct sample, predictions per error."""
    error = sa.func.coalesce(Prediction.error, sa.literal_column("'none'"))  # one expression, no parameter
    rows = session.execute(
        sa.select(error, sa.func.count(), sa.func.sum(sa.case((Prediction.passes_train, 1), else_=0)),
                  sa.func.min(sa.case((Prediction.test_correct.is_(True), Prediction.sample_index))))
        .where(Prediction.job_id == job_id).group_by(error)).all()
    firsts = [first for *_, first in rows if first is not None]
    return {"n_predictions": sum(n for _, n, _, _ in rows),
            "n_passes_train": sum(int(p or 0) for _, _, p, _ in rows),
            "first_correct_sample": min(firsts) if firsts else None,
            "error_counts": {error: n for error, n, _, _ in rows} or None}


def heartbeat(*, session: Session, job_id: int) -> bool:
    """Touch the job's heartbeat; False if it is no longer running (stop work)."""
    with _transaction(session):
        running = sa.update(Job).where(Job.id == job_id, Job.status == JobStatus.RUNNING)
        result = session.execute(running.values(heartbeat_at=utcnow())
                                 .execution_options(synchronize_session=False))
    return result.rowcount > 0


def release_job(*, session: Session, job_id: int) -> bool:
    """Put a running job back to queued: its worker is shutting down cleanly at an epoch boundary.

    The delivery does not count as lost (delivery_count is given back), the committed epochs
    stay, and the next delivery resumes after them. False if the job is no longer running.
    """
    with _transaction(session):
        job = _lock_job(session, job_id)
        if job is None or job.status != JobStatus.RUNNING:
            return False
        job.status = JobStatus.QUEUED
        job.delivery_count = max(0, job.delivery_count - 1)
    return True


def requeue_lost_jobs(*, session: Session, worker_name: str, error: str) -> list[int]:
    """Put the running jobs of a worker known to be dead back to queued; returns their ids.

    For a supervisor that saw its child die: the lost delivery counts (delivery_count stays, so
    max_deliveries still bounds a job that kills its worker), and the next delivery, on any
    worker, resumes after the last committed epoch.
    """
    with _transaction(session):
        jobs = session.scalars(sa.select(Job).where(Job.status == JobStatus.RUNNING,
                                                    Job.worker_name == worker_name)
                               .with_for_update().execution_options(populate_existing=True)).all()
        for job in jobs:
            job.status, job.error = JobStatus.QUEUED, error
            job.failed_deliveries += 1
    return [job.id for job in jobs]


# --- endings -------------------------------------------------------------------------------------

def _attempt_rows(job_id: int, attempts: Sequence[Sequence[np.ndarray]], n_test: int,
                  solutions: list[list[list[int]]] | None) -> list[dict[str, Any]]:
    """One row per test input (missing attempts stay NULL and count as wrong when solutions are known)."""
    if len(attempts) > n_test:
        raise ValueError(f"job {job_id}: {len(attempts)} attempt lists for {n_test} test inputs")
    rows = []
    for i in range(n_test):
        grids = list(attempts[i]) if i < len(attempts) else []
        if len(grids) > 2:
            raise ValueError(f"job {job_id}: test {i} has {len(grids)} attempts, at most 2 allowed")
        grids += [None] * (2 - len(grids))
        correct = None if solutions is None else \
            any_attempt_correct(grids, np.asarray(solutions[i]))
        rows.append({"job_id": job_id, "test_index": i, "attempt_1": _grid_json(grids[0]),
                     "attempt_2": _grid_json(grids[1]), "correct": correct})
    return rows


def _close_run_if_finished(session: Session, run_id: int) -> None:
    """Mark a queued/running run done once none of its jobs is queued or running.

    The run row is locked first: two jobs finishing at once would otherwise each see the other
    still running (READ COMMITTED) and neither would close the run. The second waits here, then
    its next statement sees the first one's commit.
    """
    session.execute(sa.select(Run.id).where(Run.id == run_id).with_for_update())
    open_jobs = sa.select(Job.id).where(Job.run_id == run_id,
                                        Job.status.not_in(JOB_TERMINAL)).exists()
    session.execute(sa.update(Run).where(Run.id == run_id, Run.status.in_(RUN_OPEN), ~open_jobs)
                    .values(status=RunStatus.DONE, finished_at=utcnow())
                    .execution_options(synchronize_session=False))


def record_sandbox(*, session: Session, job_id: int, isolation: str) -> None:
    """Note the sandbox isolation the job's programs run under (the latest delivery's)."""
    with _transaction(session):
        session.execute(sa.update(Job).where(Job.id == job_id).values(sandbox=isolation[:200])
                        .execution_options(synchronize_session=False))


def finish_job(*, session: Session, job_id: int, result: TaskResult) -> None:
    """Store the final attempts (scored against the solutions) and mark the job done.

    Finishing twice rewrites the same rows. A cancelled job keeps its status but gets its attempts.
    """
    with _transaction(session):
        job = _lock_job(session, job_id)
        if job is None:
            raise LookupError(f"job {job_id} does not exist")
        task_json = session.scalar(sa.select(TaskRow.task_json).where(TaskRow.id == job.task_pk))
        rows = _attempt_rows(job_id, result.attempts, len(task_json["test"]), _job_solutions(session, job_id))
        _upsert(session, Attempt, rows, ["job_id", "test_index"], keep=())
        if job.status != JobStatus.CANCELLED:
            job.status, job.error = JobStatus.DONE, None
        job.finished_at = job.finished_at or utcnow()
        job.seconds, job.stop_reason = result.seconds, result.stop_reason
        session.flush()
        _close_run_if_finished(session, job.run_id)


def fail_job(*, session: Session, job_id: int, error: str, final: bool) -> bool:
    """Record a failure: final ones mark the job failed, others put it back in the queue for a retry.

    A failure reported for a job that is already done, failed or cancelled (a late or duplicate
    report) changes nothing and returns False.
    """
    with _transaction(session):
        job = _lock_job(session, job_id)
        if job is None or job.status in JOB_TERMINAL:
            return False
        job.failed_deliveries += 1
        job.error = error
        if final:
            job.status, job.finished_at = JobStatus.FAILED, utcnow()
        else:
            job.status = JobStatus.QUEUED
        session.flush()
        _close_run_if_finished(session, job.run_id)
    return True


def cancel_run(*, session: Session, run_id: int) -> int:
    """Cancel a run and its queued/running jobs (workers see it at their next heartbeat); returns jobs cancelled."""
    with _transaction(session):
        now = utcnow()
        result = session.execute(sa.update(Job).where(Job.run_id == run_id, Job.status.in_(JOB_OPEN))
                                 .values(status=JobStatus.CANCELLED, finished_at=now)
                                 .execution_options(synchronize_session=False))
        session.execute(sa.update(Run).where(Run.id == run_id, Run.status.in_(RUN_OPEN))
                        .values(status=RunStatus.CANCELLED, finished_at=now)
                        .execution_options(synchronize_session=False))
    return result.rowcount
