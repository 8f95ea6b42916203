"""`arcfarm learn` end to end on the farm: a recorded history in real PostgreSQL, a training row,
its message on real Redis, a real `celery worker` process that selects, relabels, trains the tiny
model with trl on the CPU for a few steps, stores the adapter and records the result."""
from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from arcfarm.db import trainings
from arcfarm.jobs import learn as svc
from arcfarm.jobs.queue import CeleryQueue
from arcfarm.jobs.submit import build_config
from arcfarm.workers.artifacts import WEIGHTS_FILE

from farm_helpers import wait_for, write_history

pytestmark = pytest.mark.slow
pytest.importorskip("trl")


def test_a_training_runs_on_a_worker_of_its_queue(session_factory, farm_settings, celery_worker,
                                                  queue_name, tiny_model_dir, farm_env):
    with session_factory() as s:
        run_id = write_history(s, "learn-source")
        config = build_config("tiny-cpu", overrides={"model": str(tiny_model_dir),
                                                      "train_epochs_per_round": 2,
                                                      "max_seq_len": 2048})
        training_id = svc.create_training(session=s, name="top8-farm", run_ids=[run_id],
                                          policy="top8", config=config, queue=queue_name)
    queue = CeleryQueue(farm_settings)
    try:
        queue.enqueue_training(training_id, queue_name)  # the test's queue stands for `train`
    finally:
        queue.close()

    def finished():
        with session_factory() as s:
            row = trainings.training_row(session=s, training_id=training_id)
        return row if row["status"] in ("done", "failed") else None

    row = wait_for(finished, 400, f"training {training_id} to finish", log=celery_worker[1])
    assert row["status"] == "done", row["error"]
    assert row["worker_name"] == "test-worker" and row["delivery_count"] == 1
    assert row["source_runs"] == [run_id] and row["policy"] == "top8"
    # Two distinct outputs recorded -> two examples; one batch each pass, two passes.
    assert row["n_examples"] == 2 and row["steps"] == 2 and len(row["loss_curve"]) == 2
    assert row["n_tokens"] > 0 and row["final_loss"] > 0
    weights = Path(row["adapter_uri"].removeprefix("file://")) / WEIGHTS_FILE
    assert weights.is_file() and weights.is_relative_to(Path(farm_env["ARCFARM_ARTIFACTS"]))
    assert hashlib.sha256(weights.read_bytes()).hexdigest() == row["adapter_sha256"]
    assert weights.stat().st_size == row["adapter_bytes"]
    # A redelivered message of a finished training is harmless.
    from arcfarm.workers.artifacts import ArtifactStore
    from arcfarm.workers.training_runner import run_training
    outcome = run_training(training_id, session_factory=session_factory,
                           artifacts=ArtifactStore(farm_env["ARCFARM_ARTIFACTS"]), worker_name="x")
    assert outcome == "skipped"
