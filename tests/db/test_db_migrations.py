"""The Alembic migrations build the whole schema from empty on PostgreSQL and SQLite, tear it down,
agree with the SQLAlchemy models, and carry stored values through a migration and back."""
from __future__ import annotations

from pathlib import Path

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
                    "predictions", "gpu_seconds", "created_at", "finished_at", "base_training_id"],
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
