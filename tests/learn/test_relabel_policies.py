"""Which relabeled predictions a round trains on, per `relabel_policy`."""
from __future__ import annotations

import pytest

from arcfarm.learn.records import PredictionRecord
from arcfarm.learn.relabel import select_for_training


def _rec(i: int, fp: str | None, right: int, code: str = "x", total: int = 3) -> PredictionRecord:
    return PredictionRecord(epoch=0, sample_index=i, augmentation={}, prompt_tokens=1, completion_tokens=1,
                            response="", code=code, code_hash=str(i), train_outputs=[], test_outputs=[],
                            grid_errors=[], error=None, error_message=None, train_correct=right,
                            train_total=total, pixel_score=right / total, passes_train=right == total,
                            fingerprint=fp)


RECORDS = [_rec(0, "a", 1, "long code"), _rec(1, "a", 1, "short"), _rec(2, "b", 3), _rec(3, None, 0),
           _rec(4, "c", 0), _rec(5, "d", 2), _rec(6, "b", 3, "another")]


def _ids(chosen):
    return [r.sample_index for r in chosen]


def test_new_outputs_dedups_and_skips_what_was_trained_on():
    seen = {"d"}
    assert _ids(select_for_training(RECORDS, seen=seen)) == [2, 1, 4]  # b, a (shortest), c
    assert seen == {"a", "b", "c", "d"}
    assert select_for_training(RECORDS, seen=seen) == []


def test_all_valid_keeps_every_valid_prediction_and_ignores_seen():
    seen = {"a", "b", "c", "d"}
    chosen = select_for_training(RECORDS, seen=seen, policy="all_valid")
    assert sorted(_ids(chosen)) == [0, 1, 2, 4, 5, 6]
    assert [r.train_correct for r in chosen] == [3, 3, 2, 1, 1, 0]
    assert seen == {"a", "b", "c", "d"}
    assert _ids(select_for_training(RECORDS, policy="all_valid", min_train_correct=2, cap=2)) == [2, 6]


def test_top_k_by_train_score_takes_the_best_distinct_outputs():
    assert _ids(select_for_training(RECORDS, policy="top_k_by_train_score", top_k=2)) == [2, 5]
    assert _ids(select_for_training(RECORDS, seen={"b"}, policy="top_k_by_train_score", top_k=3)) == [2, 5, 1]
    # ranked by the share of train grids right, not the count
    mixed = [_rec(0, "p", 2, total=4), _rec(1, "q", 2, total=2)]
    assert _ids(select_for_training(mixed, policy="top_k_by_train_score", top_k=1)) == [1]


def test_an_unknown_policy_is_named():
    with pytest.raises(ValueError, match="relabel_policy: expected one of"):
        select_for_training(RECORDS, policy="best")
