"""The `trainings` table: what `arcfarm learn` trained from the farm's history, and its lifecycle.

    training_id = create_training(session=s, name="top8-ab", run_ids=[3, 4], policy="top8", ...)
    claim = claim_training(session=s, training_id=training_id, worker_name="gpu0@host")
    finish_training(session=s, training_id=..., report=..., adapter={"uri", "sha256", "bytes"})

States are JobStatus's: queued -> running -> done | failed. A training is all or nothing: a
redelivered one (its worker died) starts over, up to `max_deliveries`; a finished one is never
taken again. Each function is one transaction, like db.writes.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from arcfarm.db.models import Run, Training, utcnow
from arcfarm.db.reads import check_policy
from arcfarm.db.status import RUN_TERMINAL, JobStatus
from arcfarm.db.writes import _transaction


class TrainingError(ValueError):
    """A training that cannot be created: unknown runs, bad policy, bad name."""


@dataclass(frozen=True)
class TrainingClaim:
    training_id: int
    name: str
    run_ids: list[int]
    policy: str
    config: dict[str, Any]
    delivery_count: int


def create_training(*, session: Session, name: str, run_ids: list[int], policy: str,
                    config: dict[str, Any], model: str, code_version: str,
                    queue: str = "train") -> int:
    """Insert a queued training after checking its runs exist and its policy is known."""
    check_policy(policy)
    if not name or len(name) > 200:
        raise TrainingError(f"training name {name!r}: 1 to 200 characters")
    if not run_ids:
        raise TrainingError("no runs given to learn from (--runs 3,4)")
    found = {r: st for r, st in session.execute(sa.select(Run.id, Run.status).where(Run.id.in_(run_ids)))}
    missing = sorted(set(run_ids) - set(found))
    if missing:
        raise TrainingError(f"runs {missing} do not exist")
    # a run still going would be learned from in part, and its later programs never
    unfinished = {r: str(found[r]) for r in sorted(found) if found[r] not in RUN_TERMINAL}
    if unfinished:
        states = ", ".join(f"{r}: {st}" for r, st in unfinished.items())
        raise TrainingError(f"runs not finished ({states}): learn from done or cancelled runs")
    with _transaction(session):
        row = Training(name=name, status=JobStatus.QUEUED, source_runs=sorted(set(run_ids)),
                       policy=policy, config=config, model=model, queue=queue,
                       code_version=code_version, created_at=utcnow())
        session.add(row)
        session.flush()
    return row.id


def claim_training(*, session: Session, training_id: int, worker_name: str,
                   max_deliveries: int = 3) -> TrainingClaim | None:
    """Mark a queued (or redelivered running) training running; None when it is finished or
    has been delivered `max_deliveries` times already (then it is failed, saying so)."""
    with _transaction(session):
        row = session.scalars(sa.select(Training).where(Training.id == training_id)
                              .with_for_update()).one_or_none()
        if row is None or row.status not in (JobStatus.QUEUED, JobStatus.RUNNING):
            return None
        if row.delivery_count >= max_deliveries:
            row.status, row.finished_at = JobStatus.FAILED, utcnow()
            row.error = f"gave up after {row.delivery_count} deliveries without a result"
            return None
        row.status, row.worker_name = JobStatus.RUNNING, worker_name
        row.delivery_count += 1
        row.started_at = utcnow()
        return TrainingClaim(training_id=row.id, name=row.name, run_ids=list(row.source_runs),
                             policy=row.policy, config=dict(row.config),
                             delivery_count=row.delivery_count)


def finish_training(*, session: Session, training_id: int, report: Any,
                    adapter: dict[str, Any]) -> None:
    """Done: the report's counts and loss curve (a HistoryTrainReport) and the stored adapter."""
    with _transaction(session):
        row = session.get(Training, training_id, with_for_update=True)
        row.status, row.finished_at, row.error = JobStatus.DONE, utcnow(), None
        row.n_examples, row.n_tokens, row.steps = report.examples, report.tokens, report.steps
        row.final_loss, row.loss_curve, row.seconds = report.final_loss, report.loss_curve, report.seconds
        row.adapter_uri, row.adapter_sha256 = adapter["uri"], adapter["sha256"]
        row.adapter_bytes = adapter["bytes"]


def fail_training(*, session: Session, training_id: int, error: str, final: bool = True) -> None:
    """Failed for good (`final`), or queued again for another delivery."""
    with _transaction(session):
        row = session.get(Training, training_id, with_for_update=True)
        row.status = JobStatus.FAILED if final else JobStatus.QUEUED
        row.error = error[-20000:]
        row.finished_at = utcnow() if final else None


def training_row(*, session: Session, training_id: int) -> dict[str, Any] | None:
    """The training as a dict of its columns; None if there is none."""
    row = session.get(Training, training_id)
    if row is None:
        return None
    return {c.key: getattr(row, c.key) for c in sa.inspect(Training).column_attrs}


def list_trainings(*, session: Session, limit: int = 100) -> list[dict[str, Any]]:
    """The newest trainings first (without their loss curves)."""
    rows = session.scalars(sa.select(Training).order_by(Training.id.desc()).limit(limit)).all()
    keys = [c.key for c in sa.inspect(Training).column_attrs if c.key != "loss_curve"]
    return [{k: getattr(r, k) for k in keys} for r in rows]
