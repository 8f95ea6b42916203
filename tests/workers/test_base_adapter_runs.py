"""A run that starts from a training (`base_adapter: training:<id>`), on the test PostgreSQL, the
job run in this process: the run records its lineage (runs.base_training_id, run_summary), the
worker fetches the stored adapter once, checks its sha256 and merges it; a missing or unfinished
training is a clear config error and nothing is stored."""
from __future__ import annotations

import pytest
import sqlalchemy as sa
import torch

from arcfarm.arc.tasks import parse_task
from arcfarm.db import reads
from arcfarm.jobs import learn, submit
from arcfarm.learn.config import ConfigError, load_config
from arcfarm.learn.model import load_model
from arcfarm.workers.artifacts import ArtifactStore
from arcfarm.workers.job_runner import SolverCache, run_delivery
from arcfarm.workers.training_runner import run_training

from farm_helpers import TASKS, row_counts, tiny_overrides, write_history

pytestmark = pytest.mark.slow
pytest.importorskip("trl")


def test_a_run_started_from_a_training_records_and_uses_it(session_factory, farm_settings,
                                                          tiny_model_dir, queue_name, tmp_path):
    store = ArtifactStore(str(tmp_path / "artifacts"))
    config = load_config("tiny-cpu", values={**tiny_overrides(tiny_model_dir), "max_seq_len": 2048})
    with session_factory() as s:
        source = write_history(s, "base-source")
        tid = learn.create_training(session=s, name="base", run_ids=[source], policy="top8",
                                    config=config, queue=f"{queue_name}-none")
        # Not trained yet: a run cannot start from it.
        with pytest.raises(ConfigError, match=f"training {tid} is queued, not done"):
            submit.create_run(session=s, settings=farm_settings, name="x", dataset="x",
                              tasks=[parse_task("flip", TASKS["flip"])],
                              config=config.model_copy(update={"base_adapter": f"training:{tid}"}))
    assert run_training(tid, session_factory=session_factory, artifacts=store,
                        worker_name="t") == "done"

    before = row_counts(session_factory)
    with session_factory() as s, pytest.raises(ConfigError, match="training 999999 does not exist"):
        submit.create_run(session=s, settings=farm_settings, name="x", dataset="x",
                          tasks=[parse_task("flip", TASKS["flip"])],
                          config=config.model_copy(update={"base_adapter": "training:999999"}))
    assert row_counts(session_factory) == before

    # Trained on another model: refused, naming both (it would fail every job, or merge silently
    # into same-shaped weights it was not trained on).
    with session_factory() as s, pytest.raises(ConfigError, match="was trained on model .* this run's model is 'models/toy'"):
        submit.create_run(session=s, settings=farm_settings, name="x", dataset="x",
                          tasks=[parse_task("flip", TASKS["flip"])],
                          config=config.model_copy(update={"base_adapter": f"training:{tid}",
                                                          "model": "models/toy"}))
    assert row_counts(session_factory) == before

    based = load_config("tiny-cpu", values={**tiny_overrides(tiny_model_dir),
                                            "base_adapter": f"training:{tid}"})
    with session_factory() as s:
        run_id = submit.create_run(session=s, settings=farm_settings, name="based", dataset="based",
                                   tasks=[parse_task("flip", TASKS["flip"])], config=based,
                                   queue=f"{queue_name}-none")
        job_id = s.execute(sa.text("SELECT id FROM jobs WHERE run_id = :r"), {"r": run_id}).scalar_one()
        assert reads.run_progress(session=s, run_id=run_id)["base_training_id"] == tid
    solvers = SolverCache()
    try:
        assert run_delivery(job_id, session_factory=session_factory, solver_cache=solvers,
                       artifacts=store) == "done"
        local = solvers.solver.config.base_adapter  # the fetched folder, not training:<id>
        assert local.endswith(f"training-{tid}")
        # The trained adapter is in the weights under the per-task LoRA: q_proj moved.
        fresh, _ = load_model(str(tiny_model_dir), dtype="float32", device="cpu")
        weights = dict(solvers.solver.model.named_parameters())
        q = "model.layers.0.self_attn.q_proj"
        assert not torch.equal(weights[f"{q}.base_layer.weight"], dict(fresh.named_parameters())[f"{q}.weight"])
    finally:
        solvers.close()


def test_learning_from_a_run_that_is_not_finished_is_refused(session_factory):
    from arcfarm.db import writes
    from arcfarm.db.trainings import TrainingError

    config = load_config("tiny-cpu")
    task, solutions = parse_task("flip", TASKS["flip"])
    with session_factory() as s:
        queued = writes.create_run(session=s, name="q", config={"max_epochs": 0}, model="tiny",
                                   code_version="test", dataset="x", tasks=[(task, solutions)])
        done = write_history(s, "finished")
        before = s.execute(sa.text("SELECT COUNT(*) FROM trainings")).scalar_one()
        with pytest.raises(TrainingError, match=rf"runs not finished \({queued}: queued\)"):
            learn.create_training(session=s, name="t", run_ids=[done, queued], policy="top8",
                                  config=config)
        assert s.execute(sa.text("SELECT COUNT(*) FROM trainings")).scalar_one() == before
