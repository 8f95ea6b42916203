"""The producer side of `arcfarm learn`: a training row first, then (on a farm) its message.

    training_id = create_training(session=s, name="top8-ab", run_ids=[3, 4], policy="top8",
                                  config=build_config("toy-cpu"))
    CeleryQueue(settings).enqueue_training(training_id, TRAIN_QUEUE)

Like runs: the row is committed before the message is sent, so a worker always finds it.
"""
from __future__ import annotations

from sqlalchemy.orm import Session

from arcfarm.db import trainings
from arcfarm.jobs.broker import TRAIN_QUEUE
from arcfarm.jobs.submit import code_version
from arcfarm.learn.config import RunConfig


def parse_run_ids(text: str) -> list[int]:
    """`3,4` -> [3, 4]; anything else is a ValueError naming what is wrong."""
    try:
        ids = [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise ValueError(f"--runs {text!r}: expected run ids separated by commas, e.g. 3,4") from None
    if not ids or any(i <= 0 for i in ids):
        raise ValueError(f"--runs {text!r}: expected positive run ids, e.g. 3,4")
    return ids


def create_training(*, session: Session, name: str, run_ids: list[int], policy: str,
                    config: RunConfig, queue: str = TRAIN_QUEUE) -> int:
    return trainings.create_training(session=session, name=name, run_ids=run_ids, policy=policy,
                                     config=config.model_dump(mode="json"), model=config.model,
                                     code_version=code_version(), queue=queue)
