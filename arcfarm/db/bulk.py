"""Synthetic farm history in bulk, for `arcfarm bench farm`: thousands of jobs, millions of
predictions, written server-side (multi-row INSERT ... SELECT generate_series), PostgreSQL only.

    run_id = synthetic_run(session=s, jobs=10_000, predictions_per_job=0, status=JobStatus.QUEUED)

The rows are shaped like real ones (every NOT NULL column filled, small JSON values); they are
for timing queries, not for reading.
"""
from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Session

from arcfarm.db.models import utcnow
from arcfarm.db.status import JobStatus, RunStatus


def synthetic_run(*, session: Session, jobs: int, predictions_per_job: int = 0,
                  status: JobStatus = JobStatus.QUEUED, tag: str = "bench") -> int:
    """A run of `jobs` jobs over as many new one-cell tasks, each with `predictions_per_job`
    predictions in 4 epochs; jobs are `status` (queued, or done with attempts)."""
    if session.get_bind().dialect.name != "postgresql":
        raise NotImplementedError("synthetic_run needs PostgreSQL")
    done, now = status == JobStatus.DONE, utcnow()
    run_id = session.execute(sa.text(
        "INSERT INTO runs (name, config, model, code_version, status, dataset, queue, priority, "
        "created_at) VALUES (:tag, '{}', 'synthetic', 'bench', :status, :tag, 'bench', 0, :now) "
        "RETURNING id"), {"tag": tag, "status": RunStatus.RUNNING if done else RunStatus.QUEUED,
                          "now": now}).scalar_one()
    session.execute(sa.text(
        "INSERT INTO tasks (dataset, task_id, content_hash, task_json) "
        "SELECT CAST(:ds AS TEXT), 't' || g, md5(CAST(:ds AS TEXT) || g), "
        "'{\"train\": [{\"input\": [[1]], \"output\": [[2]]}], \"test\": [{\"input\": [[3]]}]}' "
        "FROM generate_series(1, :n) g"), {"ds": f"{tag}-{run_id}", "n": jobs})
    session.execute(sa.text(
        "INSERT INTO jobs (run_id, task_pk, status, queued_at, expected_cost, seconds, epochs_done) "
        "SELECT :run, t.id, :status, :now, 3, CASE WHEN :done THEN 10.0 END, "
        "CASE WHEN :done THEN 3 ELSE -1 END FROM tasks t WHERE t.dataset = :ds"),
        {"run": run_id, "status": status, "done": done, "now": now, "ds": f"{tag}-{run_id}"})
    if predictions_per_job:
        _predictions(session, run_id, predictions_per_job)
    if done:
        session.execute(sa.text(
            "INSERT INTO attempts (job_id, test_index, attempt_1, attempt_2, correct) "
            "SELECT id, 0, '[[2]]', '[[3]]', id % 3 = 0 FROM jobs WHERE run_id = :run"),
            {"run": run_id})
    session.commit()
    return run_id


def _predictions(session: Session, run_id: int, per_job: int) -> None:
    session.execute(sa.text(
        "INSERT INTO predictions (job_id, epoch, sample_index, augmentation, prompt_tokens, "
        "completion_tokens, response, code, code_hash, train_outputs, test_outputs, grid_errors, "
        "error, train_correct, train_total, pixel_score, passes_train, output_fingerprint, "
        "test_correct, seconds) "
        "SELECT j.id, g * 4 / :n, g, '{\"dihedral\": 0}', 300, 120, 'def transform(g): ...', "
        "'def transform(g): ...', md5(g::text), '[[[2]]]', '[[[3]]]', '[null, null]', "
        "CASE WHEN g % 5 = 0 THEN 'syntax' END, g % 2, 1, 0.5, g % 7 = 0, md5((g % 50)::text), "
        "g % 11 = 0, 0.01 "
        "FROM jobs j CROSS JOIN generate_series(0, :n - 1) g WHERE j.run_id = :run"),
        {"run": run_id, "n": per_job})
    # What record_epoch keeps up to date (migrations 0002 and 0006), set here in one statement.
    session.execute(sa.text(
        "UPDATE jobs SET n_predictions = c.n, n_passes_train = c.passes, first_correct_sample = c.first, "
        "error_counts = c.errors FROM (SELECT job_id, SUM(n) AS n, SUM(passes) AS passes, MIN(first) AS first, "
        "jsonb_object_agg(e, n) AS errors FROM (SELECT p.job_id, COALESCE(p.error, 'none') AS e, COUNT(*) AS n, "
        "COUNT(*) FILTER (WHERE p.passes_train) AS passes, MIN(p.sample_index) FILTER (WHERE p.test_correct) "
        "AS first FROM predictions p JOIN jobs j ON j.id = p.job_id WHERE j.run_id = :run "
        "GROUP BY p.job_id, COALESCE(p.error, 'none')) AS per_error GROUP BY job_id) AS c "
        "WHERE jobs.id = c.job_id"), {"run": run_id})
