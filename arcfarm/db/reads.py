"""Reads of the farm: resume state for a worker, progress and results for people, work for reconcile.

Summaries come from the researcher views (run_summary, task_results, epoch_stats,
prediction_log), so the CLI, the API and hand-written SQL agree on every number. Rows are
returned as plain dicts keyed by the views' column names.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Sequence

import numpy as np
import sqlalchemy as sa
from sqlalchemy.orm import Session

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
from arcfarm.db.status import RUN_OPEN, JobStatus
from arcfarm.learn.history import HistoryProgram
from arcfarm.learn.records import EpochRecord, PredictionRecord

EMPTY_GRID = [[0]]  # what the ARC Prize format expects where there is no answer


@dataclass(frozen=True)
class AdapterFile:
    """Where the adapter of a committed epoch lives, and the checksum of its weights."""

    epoch: int
    uri: str
    sha256: str | None


@dataclass
class JobRecords:
    """What a job has committed so far: the loop resumes after `epochs_done`, from `adapter`
    (the last committed epoch's; None for epoch 0, whose LoRA is the fresh one)."""

    epochs_done: int
    epochs: list[EpochRecord]
    predictions: list[PredictionRecord]
    adapter: AdapterFile | None = None


@dataclass(frozen=True)
class JobRef:
    """A job as reconcile sees it: enough to re-enqueue it on the right queue."""

    job_id: int
    run_id: int
    task_id: str
    status: str
    queue: str
    priority: int
    delivery_count: int


def _rows(session: Session, sql: str, **params: Any) -> list[dict[str, Any]]:
    return [dict(row) for row in session.execute(sa.text(sql), params).mappings()]


def _grid(obj: Any) -> np.ndarray | None:
    return None if obj is None else np.asarray(obj, dtype=np.int64)


def _epoch_record(row: Epoch) -> EpochRecord:
    return EpochRecord(epoch=row.epoch, predictions=row.predictions, valid=row.valid,
                       unique_outputs=row.unique_outputs, relabeled=row.relabeled,
                       train_loss=row.train_loss, train_error=row.train_error,
                       best_train_correct=row.best_train_correct, passes_train=row.passes_train,
                       sample_s=row.sample_s, execute_s=row.execute_s, relabel_s=row.relabel_s,
                       train_s=row.train_s, reset_s=row.reset_s, train_tokens=row.train_tokens,
                       sample_warning=row.sample_warning)


def _prediction_record(row: Prediction) -> PredictionRecord:
    return PredictionRecord(
        epoch=row.epoch, sample_index=row.sample_index, augmentation=row.augmentation,
        prompt_tokens=row.prompt_tokens, completion_tokens=row.completion_tokens,
        response=row.response, code=row.code, code_hash=row.code_hash,
        train_outputs=[_grid(g) for g in row.train_outputs], test_outputs=[_grid(g) for g in row.test_outputs],
        grid_errors=list(row.grid_errors), error=row.error, error_message=row.error_message,
        train_correct=row.train_correct, train_total=row.train_total, pixel_score=row.pixel_score,
        passes_train=bool(row.passes_train), fingerprint=row.output_fingerprint, seconds=row.seconds)


def job_records(*, session: Session, job_id: int) -> JobRecords:
    """The epochs and predictions a job has committed (epoch and sample order), for resuming it."""
    done = session.scalar(sa.select(Job.epochs_done).where(Job.id == job_id))
    if done is None:
        raise LookupError(f"job {job_id} does not exist")
    epochs = session.scalars(sa.select(Epoch).where(Epoch.job_id == job_id, Epoch.epoch <= done)
                             .order_by(Epoch.epoch)).all()
    predictions = session.scalars(sa.select(Prediction)
                                  .where(Prediction.job_id == job_id, Prediction.epoch <= done)
                                  .order_by(Prediction.sample_index)).all()
    adapter = session.execute(sa.select(Adapter.epoch, Adapter.uri, Adapter.sha256)
                              .where(Adapter.job_id == job_id, Adapter.epoch == done)).first()
    return JobRecords(epochs_done=done, epochs=[_epoch_record(e) for e in epochs],
                      predictions=[_prediction_record(p) for p in predictions],
                      adapter=AdapterFile(*adapter) if adapter is not None else None)


def run_exists(*, session: Session, run_id: int) -> bool:
    """Whether the run exists (by primary key; no view is computed)."""
    return session.scalar(sa.select(Run.id).where(Run.id == run_id)) is not None


def run_progress(*, session: Session, run_id: int) -> dict[str, Any] | None:
    """run_summary's row for the run plus job counts per status (every status present); None if no run."""
    rows = _rows(session, "SELECT * FROM run_summary WHERE run_id = :run_id", run_id=run_id)
    if not rows:
        return None
    counts = dict(session.execute(sa.select(Job.status, sa.func.count()).where(Job.run_id == run_id)
                                  .group_by(Job.status)).all())
    return {**rows[0], "jobs": {s.value: counts.get(s.value, 0) for s in JobStatus}}


def list_runs(*, session: Session, limit: int = 100) -> list[dict[str, Any]]:
    """The newest runs first, as run_summary rows."""
    return _rows(session, "SELECT * FROM run_summary ORDER BY run_id DESC LIMIT :limit", limit=limit)


def run_tasks(*, session: Session, run_id: int) -> list[dict[str, Any]]:
    """task_results rows of one run, by task id."""
    return _rows(session, "SELECT * FROM task_results WHERE run_id = :run_id ORDER BY task_id", run_id=run_id)


def task_detail(*, session: Session, run_id: int, task_id: str, max_predictions: int = 50) -> dict[str, Any] | None:
    """One task of a run: its result row, job, task JSON, epochs, attempts and best predictions.

    Predictions are ordered best first (test-correct, then train grids correct, then earliest).
    """
    job = session.execute(sa.select(Job, TaskRow).join(TaskRow, TaskRow.id == Job.task_pk)
                          .where(Job.run_id == run_id, TaskRow.task_id == task_id)).first()
    if job is None:
        return None
    job_row, task_row = job
    params = dict(run_id=run_id, task_id=task_id)
    attempts = session.scalars(sa.select(Attempt).where(Attempt.job_id == job_row.id)
                               .order_by(Attempt.test_index)).all()
    return {
        "result": _rows(session, "SELECT * FROM task_results WHERE run_id = :run_id AND task_id = :task_id",
                        **params)[0],
        "job": {c.key: getattr(job_row, c.key) for c in sa.inspect(Job).column_attrs},
        "task_json": task_row.task_json,
        "epochs": _rows(session, "SELECT * FROM epoch_stats WHERE run_id = :run_id AND task_id = :task_id "
                                 "ORDER BY epoch", **params),
        "attempts": [{"test_index": a.test_index, "attempt_1": a.attempt_1, "attempt_2": a.attempt_2,
                      "correct": a.correct} for a in attempts],
        "predictions": _rows(session, "SELECT * FROM prediction_log WHERE run_id = :run_id AND task_id = :task_id "
                                      "ORDER BY CASE WHEN test_correct THEN 0 ELSE 1 END, correct_train_grids DESC, "
                                      "sample_index LIMIT :n", n=max_predictions, **params),
    }


def submission(*, session: Session, run_id: int) -> dict[str, list[dict[str, Any]]]:
    """The run's answers in ARC Prize format: every task and test input, [[0]] where there is none."""
    stmt = (sa.select(Job.id, TaskRow.task_id, TaskRow.task_json).join(TaskRow, TaskRow.id == Job.task_pk)
            .where(Job.run_id == run_id).order_by(TaskRow.task_id))
    jobs = session.execute(stmt).all()
    attempts = session.scalars(sa.select(Attempt).join(Job, Job.id == Attempt.job_id)
                               .where(Job.run_id == run_id)).all()
    by_key = {(a.job_id, a.test_index): a for a in attempts}
    result: dict[str, list[dict[str, Any]]] = {}
    for job_id, task_id, task_json in jobs:
        entries = []
        for i in range(len(task_json["test"])):
            a = by_key.get((job_id, i))
            entries.append({"attempt_1": (a and a.attempt_1) or EMPTY_GRID,
                            "attempt_2": (a and a.attempt_2) or EMPTY_GRID})
        result[task_id] = entries
    return result


def _job_refs(session: Session, *where: Any) -> list[JobRef]:
    stmt = (sa.select(Job.id, Job.run_id, TaskRow.task_id, Job.status, Run.queue, Run.priority,
                      Job.delivery_count)
            .join(Run, Run.id == Job.run_id).join(TaskRow, TaskRow.id == Job.task_pk).where(*where)
            .order_by(Run.priority.desc(), Job.expected_cost.desc().nulls_last(), Job.id))
    return [JobRef(*row) for row in session.execute(stmt).all()]


def stale_jobs(*, session: Session, older_than_s: float) -> list[JobRef]:
    """Running jobs whose heartbeat is older than `older_than_s` (their worker is presumed dead)."""
    cutoff = utcnow() - timedelta(seconds=older_than_s)
    return _job_refs(session, Job.status == JobStatus.RUNNING,
                     sa.or_(Job.heartbeat_at < cutoff, Job.heartbeat_at.is_(None)))


def queued_jobs(*, session: Session, run_id: int | None = None) -> list[JobRef]:
    """Queued jobs of live runs (of `run_id` only, if given), in dispatch order: run priority,
    then expected cost (largest first)."""
    where = [Job.status == JobStatus.QUEUED, Run.status.in_(RUN_OPEN)]
    if run_id is not None:
        where.append(Job.run_id == run_id)
    return _job_refs(session, *where)


# --- the dashboard (arcfarm.api.ui): aggregates of the views, and what a task page shows ------

def job_counts(*, session: Session, run_ids: Sequence[int]) -> dict[int, dict[str, int]]:
    """Jobs per status of each run (every status present), in one grouped query."""
    counts: dict[int, dict[str, int]] = {r: {s.value: 0 for s in JobStatus} for r in run_ids}
    if run_ids:
        rows = session.execute(sa.select(Job.run_id, Job.status, sa.func.count())
                               .where(Job.run_id.in_(list(run_ids))).group_by(Job.run_id, Job.status))
        for run_id, status, n in rows:
            counts[run_id][status] = n
    return counts


def run_analysis(*, session: Session, run_id: int) -> dict[str, Any]:
    """A run's error mix, seconds per phase and each task's first test-correct sample (the
    predictions it took to find a right program), from the jobs' counters (kept by
    record_epoch) and epoch_stats: nothing here reads the run's predictions one by one."""
    jobs = session.execute(sa.select(TaskRow.task_id, Job.first_correct_sample, Job.error_counts)
                           .join(TaskRow, TaskRow.id == Job.task_pk).where(Job.run_id == run_id)).all()
    errors: dict[str, int] = {}
    for _, _, counts in jobs:
        for error, n in (counts or {}).items():
            errors[error] = errors.get(error, 0) + n
    phases = _rows(session, "SELECT COALESCE(SUM(sample_s), 0) AS sample_s, COALESCE(SUM(execute_s), 0) "
                            "AS execute_s, COALESCE(SUM(train_s), 0) AS train_s FROM epoch_stats "
                            "WHERE run_id = :run_id", run_id=run_id)[0]
    return {"errors": dict(sorted(errors.items(), key=lambda kv: (-kv[1], kv[0]))),
            "phases": {k: float(v) for k, v in phases.items()},
            "first_correct_sample": {task_id: first for task_id, first, _ in jobs if first is not None}}


def best_programs(*, session: Session, run_id: int, task_id: str, limit: int = 6) -> list[dict[str, Any]]:
    """A task's best programs, one per distinct code, with their outputs and the adapter that
    sampled them (epoch k's programs come from the LoRA trained for epoch k; epoch 0's from the
    base model). Ordered as task_detail's predictions (test-correct, train grids right, earliest),
    programs that ran before those that failed."""
    job_id = session.scalar(sa.select(Job.id).join(TaskRow, TaskRow.id == Job.task_pk)
                            .where(Job.run_id == run_id, TaskRow.task_id == task_id))
    if job_id is None:
        return []
    rank = sa.case((Prediction.test_correct.is_(True), 0), else_=1)
    failed = sa.case((Prediction.error.is_(None), 0), else_=1)  # programs that ran come first
    stmt = (sa.select(Prediction.epoch, Prediction.sample_index, Prediction.code, Prediction.code_hash,
                      Prediction.error, Prediction.train_correct, Prediction.train_total,
                      Prediction.passes_train, Prediction.test_correct, Prediction.train_outputs,
                      Prediction.test_outputs, Adapter.uri.label("adapter_uri"),
                      Adapter.sha256.label("adapter_sha256"))
            .outerjoin(Adapter, sa.and_(Adapter.job_id == Prediction.job_id, Adapter.epoch == Prediction.epoch))
            .where(Prediction.job_id == job_id)
            .order_by(rank, Prediction.train_correct.desc(), failed, Prediction.sample_index)
            .limit(limit * 8))
    chosen: dict[str, dict[str, Any]] = {}
    for row in session.execute(stmt).mappings():
        if row["code_hash"] not in chosen and len(chosen) < limit:
            chosen[row["code_hash"]] = dict(row)
    return list(chosen.values())


def task_solutions(*, session: Session, run_id: int, task_id: str) -> list[Any] | None:
    """The test outputs of a run's task, or None when unknown. Only for a viewer allowed them
    (the dashboard's token holder); the reader role cannot read `solutions` at all. The run's
    own row only: another run's test outputs for the same task are not this run's (0005)."""
    stmt = (sa.select(Solution.test_outputs).join(TaskRow, TaskRow.id == Solution.task_pk)
            .where(Solution.run_id == run_id, TaskRow.task_id == task_id))
    return session.scalar(stmt)


# --- learning from history: which recorded programs become training examples ------------------
#
# One query per policy; docs/queries.sql holds the same text (tests/db/test_history_selection.py
# checks they agree). Both read the task's train pairs and test *inputs* (tasks.task_json never
# holds test outputs) and each program's own train outputs; neither reads `solutions`,
# predictions.test_outputs or predictions.test_correct (the test runs them as a role that may not).
# A program stands for its output fingerprint: one per distinct output per task, the shortest code.

HISTORY_TOP_K_SQL = """\
WITH valid AS (
    SELECT j.task_pk, p.id AS prediction_id, p.augmentation, p.response, p.code, p.train_outputs,
           p.train_correct, p.output_fingerprint,
           ROW_NUMBER() OVER (PARTITION BY j.task_pk, p.output_fingerprint
                              ORDER BY LENGTH(p.code), p.id) AS nth_of_output
    FROM predictions p JOIN jobs j ON j.id = p.job_id
    WHERE j.run_id IN :run_ids AND p.output_fingerprint IS NOT NULL
), ranked AS (
    SELECT v.*, ROW_NUMBER() OVER (PARTITION BY v.task_pk
                                   ORDER BY v.train_correct DESC, LENGTH(v.code), v.prediction_id) AS task_rank
    FROM valid v WHERE v.nth_of_output = 1
)
SELECT t.task_id, t.task_json, r.prediction_id, r.augmentation, r.response, r.train_outputs,
       r.train_correct, r.output_fingerprint, r.task_rank
FROM ranked r JOIN tasks t ON t.id = r.task_pk
WHERE r.task_rank <= :k
ORDER BY t.task_id, r.task_pk, r.task_rank"""

HISTORY_PASSING_SQL = """\
WITH passing AS (
    SELECT j.task_pk, p.id AS prediction_id, p.augmentation, p.response, p.code, p.train_outputs,
           p.train_correct, p.output_fingerprint,
           ROW_NUMBER() OVER (PARTITION BY j.task_pk, p.output_fingerprint
                              ORDER BY LENGTH(p.code), p.id) AS nth_of_output
    FROM predictions p JOIN jobs j ON j.id = p.job_id
    WHERE j.run_id IN :run_ids AND p.output_fingerprint IS NOT NULL AND p.passes_train
), ranked AS (
    SELECT s.*, ROW_NUMBER() OVER (PARTITION BY s.task_pk
                                   ORDER BY LENGTH(s.code), s.prediction_id) AS task_rank
    FROM passing s WHERE s.nth_of_output = 1
)
SELECT t.task_id, t.task_json, r.prediction_id, r.augmentation, r.response, r.train_outputs,
       r.train_correct, r.output_fingerprint, r.task_rank
FROM ranked r JOIN tasks t ON t.id = r.task_pk
ORDER BY t.task_id, r.task_pk, r.task_rank"""

TOP_K_POLICY = re.compile(r"top([1-9][0-9]{0,3})")


class PolicyError(ValueError):
    """A selection policy name that is not `top<k>` or `passing`."""


def check_policy(policy: str) -> str:
    """The policy as given if it is one we know, else PolicyError naming it."""
    if policy != "passing" and not TOP_K_POLICY.fullmatch(policy):
        raise PolicyError(f"policy {policy!r}: use top<k> (k from 1 to 9999, e.g. top8) or passing")
    return policy


def history_programs(*, session: Session, run_ids: list[int], policy: str) -> list[HistoryProgram]:
    """The programs of `run_ids` that `policy` keeps, per task best first (task id order).

    `top<k>`: per task, the k best distinct outputs, by correct train grids, then shorter code;
    `passing`: per task, every distinct output of a program that passes all train pairs.
    """
    check_policy(policy)
    if not run_ids:
        raise ValueError("no runs given to learn from")
    sql, params = HISTORY_PASSING_SQL, {}
    if policy != "passing":
        sql, params = HISTORY_TOP_K_SQL, {"k": int(TOP_K_POLICY.fullmatch(policy).group(1))}
    # Typed columns: SQLite hands JSON back as text unless told what the column holds.
    stmt = (sa.text(sql).bindparams(sa.bindparam("run_ids", expanding=True))
            .columns(task_json=sa.JSON, augmentation=sa.JSON, train_outputs=sa.JSON))
    rows = session.execute(stmt, {"run_ids": list(run_ids), **params}).mappings()
    return [HistoryProgram(task_id=r["task_id"], task_json=r["task_json"],
                           prediction_id=r["prediction_id"], augmentation=r["augmentation"],
                           response=r["response"], train_outputs=r["train_outputs"],
                           train_correct=r["train_correct"], fingerprint=r["output_fingerprint"],
                           rank=r["task_rank"]) for r in rows]
