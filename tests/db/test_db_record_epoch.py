"""record_epoch's prediction insert (COPY on PostgreSQL, INSERT ... ON CONFLICT on SQLite): every
value round-trips, a retry after a failure mid-way stores each row exactly once, stored rows are
never rewritten, and two deliveries recording the same epoch at once do not collide."""
from __future__ import annotations

import dataclasses
import json
import threading
import time
from dataclasses import replace

import numpy as np
import pytest
import sqlalchemy as sa

from arcfarm.db import reads, writes
from arcfarm.db.connection import make_db_engine, make_session_factory
from arcfarm.learn.records import PredictionRecord


def claimed_job(session, helpers) -> int:
    run_id = writes.create_run(session=session, name="r", config={}, model="m", code_version="v",
                               dataset="synthetic", tasks=helpers.make_tasks(("t1",)))
    [job_id] = helpers.job_ids(session, run_id).values()
    writes.claim_job(session=session, job_id=job_id, worker_host="h", worker_name="w", gpu=None)
    return job_id


def pred_count(session, job_id) -> int:
    return session.scalar(sa.text("SELECT count(*) FROM predictions WHERE job_id = :j"), {"j": job_id})


def awkward(index: int) -> PredictionRecord:
    """A prediction whose text needs escaping in COPY's text format, with NULL-able fields empty."""
    text = f"tab\there\nnew line \\ backslash \\N not null 'q' \"dq\" \u00e9\u4e2d\U0001F600 {index}"
    return PredictionRecord(
        epoch=0, sample_index=index, augmentation={"dihedral": 5, "colors": [3, 1, 2], "note": text},
        prompt_tokens=7, completion_tokens=0, response=text + "\x00nul", code=text, code_hash="h",
        train_outputs=[np.array([[1, 2], [3, 4]]), None], test_outputs=[np.array([[6]])],
        grid_errors=[None, "timeout: \t\\"], error=None, error_message=None, train_correct=1,
        train_total=2, pixel_score=float("1e-300"), passes_train=False, fingerprint=None,
        seconds=0.0)


def test_values_round_trip(session, helpers):
    job_id = claimed_job(session, helpers)
    recs = [awkward(0), awkward(1)]
    epoch = helpers.epoch_record(0, recs)
    assert writes.record_epoch(session=session, job_id=job_id, epoch=epoch, predictions=recs)
    back = reads.job_records(session=session, job_id=job_id).predictions
    assert len(back) == 2
    for got, want in zip(back, recs):
        assert got.response == want.response.replace("\x00", "\ufffd")
        assert (got.code, got.augmentation, got.grid_errors) == (want.code, want.augmentation, want.grid_errors)
        assert got.train_outputs[1] is None and got.train_outputs[0].tolist() == [[1, 2], [3, 4]]
        assert got.test_outputs[0].tolist() == [[6]]
        assert (got.error, got.error_message, got.fingerprint, got.pixel_score) == (None, None, None, 1e-300)
    row = session.execute(sa.text("SELECT test_correct, error_message FROM predictions WHERE sample_index = 0")).one()
    assert tuple(row) == (True, None)  # t1's solution is [[6]]; error_message is SQL NULL


def test_the_epoch_row_keeps_what_the_engine_worked_around(session, helpers):
    job_id = claimed_job(session, helpers)
    recs = [awkward(0)]
    note = "decode step: torch.compile failed for 1 shape(s), decoded eagerly (...)"
    epoch = replace(helpers.epoch_record(0, recs), sample_warning=note)
    assert writes.record_epoch(session=session, job_id=job_id, epoch=epoch, predictions=recs)
    assert reads.job_records(session=session, job_id=job_id).epochs[0].sample_warning == note


def test_retry_after_failure_mid_way_stores_each_row_once(session, helpers, monkeypatch):
    job_id = claimed_job(session, helpers)
    [(rec0, preds0), (rec1, preds1)] = helpers.epochs_of("t1", helpers.RUN_A["t1"])
    writes.record_epoch(session=session, job_id=job_id, epoch=rec0, predictions=preds0)
    real_upsert = writes._upsert

    def fail_on_adapter(session_, model, *args, **kwargs):  # after the predictions went in
        if model is writes.Adapter:
            raise ConnectionError("database went away")
        return real_upsert(session_, model, *args, **kwargs)

    monkeypatch.setattr(writes, "_upsert", fail_on_adapter)
    with pytest.raises(ConnectionError):
        writes.record_epoch(session=session, job_id=job_id, epoch=rec1, predictions=preds1,
                            adapter={"uri": "file:///a"})
    assert pred_count(session, job_id) == len(preds0)  # nothing of epoch 1 was left behind
    assert reads.job_records(session=session, job_id=job_id).epochs_done == 0
    monkeypatch.setattr(writes, "_upsert", real_upsert)
    for _ in range(2):  # the retry, then a duplicate delivery of it
        assert writes.record_epoch(session=session, job_id=job_id, epoch=rec1, predictions=preds1,
                                   adapter={"uri": "file:///a"})
    indices = session.scalars(sa.text("SELECT sample_index FROM predictions WHERE job_id = :j ORDER BY 1"),
                              {"j": job_id}).all()
    assert indices == [p.sample_index for p in preds0 + preds1]
    job = session.execute(sa.text("SELECT epochs_done, n_predictions FROM jobs WHERE id = :j"), {"j": job_id}).one()
    assert tuple(job) == (1, len(preds0) + len(preds1))


def test_stored_rows_are_kept_and_only_new_ones_added(session, helpers):
    job_id = claimed_job(session, helpers)
    one = helpers.RUN_A["t1"][0][0][0]  # a right prediction, in conftest's shorthand
    [(rec, preds)] = helpers.epochs_of("t1", ([[one] * 3], None, None))
    writes.record_epoch(session=session, job_id=job_id, epoch=rec, predictions=preds[:2])
    changed = [PredictionRecord(**{**vars(p), "response": "rewritten"}) for p in preds]
    # A resumed job re-records the epoch with one more prediction, and one index twice.
    writes.record_epoch(session=session, job_id=job_id, epoch=rec, predictions=changed + changed[2:])
    rows = session.execute(sa.text("SELECT sample_index, response FROM predictions WHERE job_id = :j "
                                   "ORDER BY 1"), {"j": job_id}).all()
    assert [tuple(r) for r in rows] == [(0, "resp 0"), (1, "resp 1"), (2, "rewritten")]
    assert session.scalar(sa.text("SELECT n_predictions FROM jobs WHERE id = :j"), {"j": job_id}) == 3


def test_two_deliveries_record_the_same_epoch_at_once(db_url, helpers):
    """The second waits for the first's lock on the job row, then finds its rows stored."""
    if not db_url.startswith("postgresql"):
        pytest.skip("SQLite serialises writers itself")
    engine = make_db_engine(db_url)
    sessions = make_session_factory(engine)
    try:
        with sessions() as s:
            job_id = claimed_job(s, helpers)
        rec, preds = helpers.epochs_of("t1", helpers.RUN_A["t1"])[0]
        errors: list[BaseException] = []
        with sessions() as first:
            first.execute(sa.text("SELECT 1 FROM jobs WHERE id = :j FOR NO KEY UPDATE"), {"j": job_id})

            def second():
                try:
                    with sessions() as s:
                        writes.record_epoch(session=s, job_id=job_id, epoch=rec, predictions=preds)
                except BaseException as exc:  # noqa: BLE001 - reported below
                    errors.append(exc)
            thread = threading.Thread(target=second)
            thread.start()
            deadline = time.monotonic() + 20
            with sessions() as probe:  # wait until the second one is blocked on the job row
                while not probe.scalar(sa.text("SELECT count(*) FROM pg_stat_activity WHERE "
                                               "datname = current_database() AND wait_event_type = 'Lock'")):
                    assert time.monotonic() < deadline, "the second record_epoch never waited"
                    time.sleep(0.05)
                    probe.rollback()
            writes.record_epoch(session=first, job_id=job_id, epoch=rec, predictions=preds)
            thread.join(30)
        assert not thread.is_alive() and errors == []
        with sessions() as s:
            assert pred_count(s, job_id) == len(preds)
    finally:
        engine.dispose()


def test_job_counters_agree_with_the_predictions_after_every_epoch(session, helpers):
    """jobs.n_passes_train, first_correct_sample and error_counts (what the dashboard reads
    instead of scanning predictions) equal the prediction_log aggregates, also after re-recording."""
    job_id = claimed_job(session, helpers)

    def pred(epoch, index, output, passes, error=None):
        return dataclasses.replace(awkward(index), epoch=epoch, passes_train=passes, error=error,
                                   test_outputs=[None if output is None else np.array(output)])

    first = [pred(0, 0, [[5]], True), pred(0, 1, None, False, "syntax"), pred(0, 2, [[7]], False)]
    second = [pred(1, 3, [[6]], True), pred(1, 4, [[6]], True), pred(1, 5, None, False, "timeout")]
    for epoch, recs in ((0, first), (1, second), (1, second)):  # the last: a redelivery
        writes.record_epoch(session=session, job_id=job_id, epoch=helpers.epoch_record(epoch, recs),
                            predictions=recs)
    row = session.execute(sa.text("SELECT n_predictions, n_passes_train, first_correct_sample, "
                                  "error_counts FROM jobs WHERE id = :j"), {"j": job_id}).one()
    log = session.execute(sa.text(
        "SELECT COUNT(*), SUM(CASE WHEN passes_train THEN 1 ELSE 0 END), "
        "MIN(CASE WHEN test_correct THEN sample_index END) FROM prediction_log pl "
        "JOIN jobs j ON j.run_id = pl.run_id WHERE j.id = :j"), {"j": job_id}).one()
    assert (row[0], row[1], row[2]) == tuple(log) == (6, 3, 3)  # t1's solution is [[6]]
    errors = row[3] if isinstance(row[3], dict) else json.loads(row[3])
    assert errors == {"none": 4, "syntax": 1, "timeout": 1}
    [result] = reads.run_tasks(session=session, run_id=session.scalar(
        sa.text("SELECT run_id FROM jobs WHERE id = :j"), {"j": job_id}))
    assert result["passes_train"] == 3 and result["predictions"] == 6
