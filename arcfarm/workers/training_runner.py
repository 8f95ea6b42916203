"""Run one training of `arcfarm learn`: claim it, select and relabel programs, train, store.

    run_training(training_id, session_factory=..., artifacts=..., worker_name="gpu0@host")

What the Celery task `arcfarm.run_training` (queue `train`) and `arcfarm learn` without a broker
both call. Steps: claim the row (a finished training is skipped); select the programs of its
source runs with its policy (db.reads.history_programs: no test outputs are read); relabel them
into training examples (learn.history); train with trl (learn.history_train) into a local
folder; upload it to the adapter store (`<root>/trainings/<id>/`); record counts, loss curve,
URI and sha256. Any exception fails the training with its traceback; a worker that died leaves
it running, and its redelivery starts it over (up to `max_deliveries`).
"""
from __future__ import annotations

import logging
import shutil
import tempfile
import traceback
from typing import Any, Callable

from sqlalchemy.orm import Session, sessionmaker

from arcfarm.db import reads, trainings
from arcfarm.learn.config import RunConfig
from arcfarm.learn.history import history_examples
from arcfarm.learn.history_train import HistoryTrainingError, Progress, train_on_history
from arcfarm.workers.artifacts import ArtifactStore
from arcfarm.workers.job_runner import DeliveryOutcome, _Db

log = logging.getLogger(__name__)


class BaseModelCache:
    """The base model and tokenizer a training process keeps between trainings (one at a time)."""

    def __init__(self, loader: Callable[[RunConfig], Any] | None = None):
        self.loader = loader or _load
        self.key: tuple | None = None
        self.loaded: Any = None

    def get(self, config: RunConfig) -> Any:
        key = (config.model, config.dtype, config.device)
        if key != self.key:
            self.loaded, self.key = None, None  # one model in memory at a time
            self.loaded, self.key = self.loader(config), key
        return self.loaded


def _load(config: RunConfig):
    from arcfarm.learn.model import load_model
    from arcfarm.learn.model_source import resolve_model_path

    return load_model(resolve_model_path(config.model), dtype=config.dtype, device=config.device)


def run_training(training_id: int, *, session_factory: sessionmaker[Session],
                 artifacts: ArtifactStore, worker_name: str, models: BaseModelCache | None = None,
                 max_deliveries: int = 3, db_retry_s: float = 60.0,
                 progress: Progress | None = None) -> DeliveryOutcome:
    """Run one delivery of a training to its end; how it ended is the DeliveryOutcome."""
    db = _Db(session_factory, db_retry_s)
    claim = db(trainings.claim_training, training_id=training_id, worker_name=worker_name,
               max_deliveries=max_deliveries)
    if claim is None:
        log.info("training %s: nothing to do (finished, failed, or given up)", training_id)
        return DeliveryOutcome.SKIPPED
    try:
        report, adapter = _train(claim, db, artifacts, models or BaseModelCache(), progress)
    except Exception as exc:  # noqa: BLE001 - every failure is recorded on the row
        log.exception("training %s failed (delivery %d)", training_id, claim.delivery_count)
        # Bad input fails at once; anything else may pass on another delivery.
        final = isinstance(exc, (HistoryTrainingError, ValueError)) \
            or claim.delivery_count >= max_deliveries
        db(trainings.fail_training, training_id=training_id, final=final,
           error="".join(traceback.format_exception(exc)).strip())
        return DeliveryOutcome.FAILED if final else DeliveryOutcome.RETRY
    db(trainings.finish_training, training_id=training_id, report=report, adapter=adapter)
    return DeliveryOutcome.DONE


def _train(claim: trainings.TrainingClaim, db: _Db, artifacts: ArtifactStore,
           models: BaseModelCache, progress: Progress | None):
    config = RunConfig(**claim.config)
    programs = db(reads.history_programs, run_ids=claim.run_ids, policy=claim.policy)
    if not programs:
        raise HistoryTrainingError(f"runs {claim.run_ids} with policy {claim.policy!r} select no "
                                   "programs (no valid outputs recorded?)")
    model, tokenizer = models.get(config)
    examples = history_examples(programs, tokenizer)
    log.info("training %s: %d programs of %d tasks", claim.training_id, len(examples),
             len({p.task_id for p in programs}))
    with tempfile.TemporaryDirectory(prefix="arcfarm-learn-") as local:
        report = train_on_history(config, examples, local, model=model, tokenizer=tokenizer,
                                  progress=progress)
        adapter = artifacts.save_training(
            lambda into: shutil.copytree(local, into, dirs_exist_ok=True), claim.training_id)
    if adapter["sha256"] != report.adapter_sha256:
        raise HistoryTrainingError(f"training {claim.training_id}: the stored adapter's sha256 "
                                   "differs from the one trained")
    return report, adapter
