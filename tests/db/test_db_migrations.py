"""The Alembic migrations build the whole schema from empty on PostgreSQL and SQLite, tear it down,
agree with the SQLAlchemy models, and carry stored values through a migration and back."""
from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from arcfarm.db import migrate
from arcfarm.db.connection import make_db_engine
from arcfarm.db.models import Base

TABLES = {"runs", "tasks", "solutions", "jobs", "epochs", "predictions", "adapters", "attempts",
          "trainings"}
VIEW_COLUMNS = {
    "run_summary": ["run_id", "name", "status", "n_tasks", "n_done", "n_failed", "n_solved", "score",
                    "predictions", "worker_seconds", "created_at", "finished_at", "base_training_id"],
    "task_results": ["run_id", "task_id", "status", "epochs_run", "predictions", "first_solved_epoch",
                     "passes_train", "score", "seconds"],
    "epoch_stats": ["run_id", "task_id", "epoch", "predictions", "valid_outputs", "unique_outputs", "relabeled",
                    "train_loss", "best_train_correct_grids", "passes_train", "sample_s", "execute_s", "train_s"],
    "prediction_log": ["run_id", "task_id", "epoch", "sample_index", "code", "error", "correct_train_grids",
                       "passes_train", "test_correct", "output_fingerprint", "completion_tokens"],
}


@pytest.fixture(params=["postgresql", "sqlite"])
def empty_url(request):
    return request.getfixturevalue("pg_url" if request.param == "postgresql" else "sqlite_url")


def schema(url: str) -> tuple[set[str], set[str]]:
    engine = make_db_engine(url)
    try:
        inspector = sa.inspect(engine)
        return set(inspector.get_table_names()) - {"alembic_version"}, set(inspector.get_view_names())
    finally:
        engine.dispose()


def test_upgrade_from_empty_creates_tables_and_views(empty_url):
    assert migrate.current_revision(empty_url) is None
    migrate.upgrade(empty_url)
    assert migrate.current_revision(empty_url) == migrate.head_revision()
    assert schema(empty_url) == (TABLES, set(VIEW_COLUMNS))
    engine = make_db_engine(empty_url)
    with engine.connect() as conn:
        for view, columns in VIEW_COLUMNS.items():
            assert list(conn.execute(sa.text(f"SELECT * FROM {view}")).keys()) == columns
    engine.dispose()


def test_downgrade_to_base_removes_everything_and_upgrade_again_works(empty_url):
    migrate.upgrade(empty_url)
    migrate.downgrade(empty_url, "base")
    assert schema(empty_url) == (set(), set())
    assert migrate.current_revision(empty_url) is None
    migrate.upgrade(empty_url)
    assert schema(empty_url)[0] == TABLES


def test_upgrade_works_from_any_working_directory(sqlite_url, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    migrate.upgrade(sqlite_url)
    assert migrate.current_revision(sqlite_url) == migrate.head_revision()


def test_models_match_the_migrated_schema(db_url):
    engine = make_db_engine(db_url)
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        diff = compare_metadata(context, Base.metadata)
    engine.dispose()
    assert diff == []


def _one_job(url: str, sql: str) -> int:
    engine = make_db_engine(url)
    try:
        with engine.begin() as conn:
            return conn.execute(sa.text(sql)).scalar_one()
    finally:
        engine.dispose()


def _one_row(url: str, sql: str) -> tuple:
    engine = make_db_engine(url)
    try:
        with engine.connect() as conn:
            return tuple(conn.execute(sa.text(sql)).one())
    finally:
        engine.dispose()


def _execute(url: str, *statements: str) -> None:
    engine = make_db_engine(url)
    try:
        with engine.begin() as conn:
            for sql in statements:
                conn.execute(sa.text(sql))
    finally:
        engine.dispose()


def _columns(url: str, table: str) -> set[str]:
    engine = make_db_engine(url)
    try:
        return {c["name"] for c in sa.inspect(engine).get_columns(table)}
    finally:
        engine.dispose()


def _revision(file_part: str) -> tuple[str, str]:
    """(revision, the one it revises) of the migration whose file name holds `file_part`; by
    name, so the test outlives a renumbering when branches with new migrations merge."""
    scripts = ScriptDirectory.from_config(migrate.alembic_config(""))
    found = [r for r in scripts.walk_revisions() if file_part in Path(r.path).name]
    assert len(found) == 1, [r.path for r in found]
    return found[0].revision, found[0].down_revision


def test_failed_deliveries_rename_and_run_error_drop_go_both_ways(empty_url):
    this, before = _revision("failed_deliveries_drop_run_error")
    migrate.upgrade(empty_url, before)
    _one_job(empty_url, "INSERT INTO runs (name, config, model, code_version, dataset) "
                        "VALUES ('r', '{}', 'm', 'v', 'd') RETURNING id")
    _one_job(empty_url, "INSERT INTO tasks (dataset, task_id, content_hash, task_json) "
                        "VALUES ('d', 't', 'h', '{}') RETURNING id")
    _one_job(empty_url, "INSERT INTO jobs (run_id, task_pk, attempts_failed) VALUES (1, 1, 2) "
                        "RETURNING id")
    migrate.upgrade(empty_url, this)
    assert _one_job(empty_url, "SELECT failed_deliveries FROM jobs") == 2
    assert "error" not in _columns(empty_url, "runs")
    assert _one_job(empty_url, "SELECT n_tasks FROM run_summary") == 1  # the views still work
    migrate.downgrade(empty_url, before)
    assert _one_job(empty_url, "SELECT attempts_failed FROM jobs") == 2
    assert "error" in _columns(empty_url, "runs")
    assert _one_job(empty_url, "SELECT n_tasks FROM run_summary") == 1


def _rows(url: str, sql: str) -> list[tuple]:
    engine = make_db_engine(url)
    try:
        with engine.connect() as conn:
            return [tuple(r) for r in conn.execute(sa.text(sql)).all()]
    finally:
        engine.dispose()


def _outputs(value):
    return value if isinstance(value, list) else json.loads(value)  # SQLite hands back text


def test_solutions_per_run_keeps_every_row_up_and_down(empty_url):
    """Before: one row per task. After: a row per run with a job on the task (what it was scored
    against), a row with no run for a task no run uses. Down again: the same rows as before."""
    this, before = _revision("solutions_per_run")
    migrate.upgrade(empty_url, before)
    for sql in (
        "INSERT INTO runs (name, config, model, code_version, dataset) VALUES ('a', '{}', 'm', 'v', 'd')",
        "INSERT INTO runs (name, config, model, code_version, dataset) VALUES ('b', '{}', 'm', 'v', 'd')",
        "INSERT INTO tasks (dataset, task_id, content_hash, task_json) VALUES ('d', 't1', 'h', '{}')",
        "INSERT INTO tasks (dataset, task_id, content_hash, task_json) VALUES ('d', 't2', 'h', '{}')",
        "INSERT INTO tasks (dataset, task_id, content_hash, task_json) VALUES ('d', 't3', 'h', '{}')",
        "INSERT INTO solutions (task_pk, test_outputs) VALUES (1, '[[[1]]]')",
        "INSERT INTO solutions (task_pk, test_outputs) VALUES (2, '[[[2]]]')",
        "INSERT INTO solutions (task_pk, test_outputs) VALUES (3, '[[[3]]]')",  # no job: an orphan
        "INSERT INTO jobs (run_id, task_pk) VALUES (1, 1)",
        "INSERT INTO jobs (run_id, task_pk) VALUES (2, 1)",
        "INSERT INTO jobs (run_id, task_pk) VALUES (2, 2)",
    ):
        _one_job(empty_url, sql + " RETURNING 1")
    old = sorted((t, _outputs(o)) for t, o in _rows(empty_url, "SELECT task_pk, test_outputs FROM solutions"))

    migrate.upgrade(empty_url, this)
    new = sorted(((r, t, _outputs(o)) for r, t, o in _rows(
        empty_url, "SELECT run_id, task_pk, test_outputs FROM solutions")), key=str)
    assert new == sorted([(1, 1, [[[1]]]), (2, 1, [[[1]]]), (2, 2, [[[2]]]), (None, 3, [[[3]]])], key=str)
    assert {"id", "run_id", "task_pk", "test_outputs"} == _columns(empty_url, "solutions")
    assert _one_job(empty_url, "SELECT n_tasks FROM run_summary WHERE run_id = 2") == 2
    # a new run's own row is inserted beside the old ones (the id sequence carries on)
    _one_job(empty_url, "INSERT INTO solutions (run_id, task_pk, test_outputs) "
                        "VALUES (1, 2, '[[[7]]]') RETURNING id")

    migrate.downgrade(empty_url, before)
    back = sorted((t, _outputs(o)) for t, o in _rows(empty_url, "SELECT task_pk, test_outputs FROM solutions"))
    assert back == old
    assert _columns(empty_url, "solutions") == {"task_pk", "test_outputs"}
    migrate.upgrade(empty_url, this)  # and up once more
    assert len(_rows(empty_url, "SELECT id FROM solutions")) == 4
def test_worker_seconds_rename_and_queue_default_go_both_ways(empty_url):
    """run_summary.gpu_seconds -> worker_seconds (wall time, CPU workers too); on PostgreSQL a
    raw insert into runs gets the queue workers consume, and a reader's grant survives."""
    this, before = _revision("worker_seconds_queue_default")
    migrate.upgrade(empty_url, before)
    postgres = empty_url.startswith("postgresql")
    if postgres:
        _execute(empty_url, "DROP ROLE IF EXISTS arcfarm_mig_reader", "CREATE ROLE arcfarm_mig_reader",
                 "GRANT SELECT ON run_summary TO arcfarm_mig_reader")
    _one_job(empty_url, "INSERT INTO runs (name, config, model, code_version, dataset) "
                        "VALUES ('r', '{}', 'm', 'v', 'd') RETURNING id")
    _one_job(empty_url, "INSERT INTO tasks (dataset, task_id, content_hash, task_json) "
                        "VALUES ('d', 't', 'h', '{}') RETURNING id")
    _one_job(empty_url, "INSERT INTO jobs (run_id, task_pk, seconds) VALUES (1, 1, 2.5) RETURNING id")
    for i, (error, passes, correct) in enumerate([(None, True, False), ("syntax", False, None),
                                                  (None, True, True), (None, False, True)]):
        _execute(empty_url, "INSERT INTO predictions (job_id, epoch, sample_index, augmentation, "
                 "prompt_tokens, completion_tokens, response, code, code_hash, train_outputs, "
                 "test_outputs, grid_errors, error, train_correct, train_total, pixel_score, "
                 f"passes_train, test_correct) VALUES (1, 0, {i}, '{{}}', 1, 1, 'r', 'c', 'h', '[]', "
                 f"'[]', '[]', {'NULL' if error is None else repr(error)}, 0, 1, 0.0, {passes}, "
                 f"{'NULL' if correct is None else correct})")
    before_row = _one_row(empty_url, "SELECT * FROM task_results")
    migrate.upgrade(empty_url, this)
    assert _one_job(empty_url, "SELECT worker_seconds FROM run_summary") == 2.5
    # the counters are backfilled and task_results reads them: the same row as before
    assert _one_row(empty_url, "SELECT * FROM task_results") == before_row
    counters = _one_row(empty_url, "SELECT n_passes_train, first_correct_sample, error_counts FROM jobs")
    errors = counters[2] if isinstance(counters[2], dict) else json.loads(counters[2])
    assert (counters[0], counters[1], errors) == (2, 2, {"none": 3, "syntax": 1})
    if postgres:
        new = _one_job(empty_url, "INSERT INTO runs (name, config, model, code_version, dataset) "
                                  "VALUES ('r2', '{}', 'm', 'v', 'd') RETURNING queue")
        assert new == "arcfarm"
        assert _one_job(empty_url, "SELECT has_table_privilege('arcfarm_mig_reader', "
                                   "'run_summary', 'SELECT')") is True
    migrate.downgrade(empty_url, before)
    assert _one_job(empty_url, "SELECT COUNT(gpu_seconds) FROM run_summary") >= 1
    assert _one_row(empty_url, "SELECT * FROM task_results") == before_row
    assert "n_passes_train" not in _columns(empty_url, "jobs")
    if postgres:
        assert _one_job(empty_url, "INSERT INTO runs (name, config, model, code_version, dataset) "
                                   "VALUES ('r3', '{}', 'm', 'v', 'd') RETURNING queue") == "default"
        _execute(empty_url, "DROP OWNED BY arcfarm_mig_reader", "DROP ROLE arcfarm_mig_reader")


def test_a_run_row_defaults_to_the_queue_workers_consume():
    from arcfarm.db.models import Run
    from arcfarm.jobs.broker import DEFAULT_QUEUE, celery_config

    assert Run.__table__.c.queue.default.arg == DEFAULT_QUEUE == "arcfarm"
    config = celery_config(SimpleNamespace(broker_url="redis://x", visibility_timeout_s=60))
    assert config["task_default_queue"] == DEFAULT_QUEUE


def test_trainings_and_run_lineage_go_both_ways(empty_url):
    this, before = _revision("trainings")
    migrate.upgrade(empty_url, before)
    _one_job(empty_url, "INSERT INTO runs (name, config, model, code_version, dataset) "
                        "VALUES ('r', '{}', 'm', 'v', 'd') RETURNING id")
    migrate.upgrade(empty_url, this)
    training = _one_job(empty_url, "INSERT INTO trainings (name, source_runs, policy, config, model, "
                                   "code_version, created_at) VALUES ('t', '[1]', 'top8', '{}', 'm', "
                                   "'v', CURRENT_TIMESTAMP) RETURNING id")
    _one_job(empty_url, f"UPDATE runs SET base_training_id = {training} RETURNING id")
    assert _one_job(empty_url, "SELECT base_training_id FROM run_summary") == training
    migrate.downgrade(empty_url, before)
    assert "base_training_id" not in _columns(empty_url, "runs")
    assert "trainings" not in schema(empty_url)[0]
    assert _one_job(empty_url, "SELECT n_tasks FROM run_summary") == 0  # the view still works
