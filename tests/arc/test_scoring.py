"""Train scoring, fingerprints, attempt selection (groups, votes, tie-breaks) and ARC Prize scoring."""
from __future__ import annotations

import numpy as np
import pytest

from arcfarm.arc.scoring import (
    Candidate,
    any_attempt_correct,
    fingerprint,
    score_train,
    select_attempts,
    task_score,
)


def g(*rows):
    return np.array(rows, dtype=np.int64)


A, B, C, D = g([1]), g([2]), g([3]), g([4])


def test_fingerprint():
    assert fingerprint([A, g([1, 2])]) == fingerprint([g([1]), g([1, 2])])
    assert fingerprint([A, None]) is None
    assert fingerprint([g([1, 2], [3, 4])]) != fingerprint([g([1, 2, 3, 4])])  # same bytes, other shape
    assert fingerprint([A, B]) != fingerprint([B, A])
    assert fingerprint([np.array([[1]], dtype=np.int32)]) == fingerprint([A])
    assert len(fingerprint([A])) == 64


def test_score_train():
    expected = [g([1, 2], [3, 4]), g([5]), g([6, 6])]
    s = score_train(expected, [g([1, 2], [3, 0]), g([5]), None])
    assert (s.train_correct, s.train_total, s.passes_train) == (1, 3, False)
    assert s.pixel_score == pytest.approx((0.75 + 1.0 + 0.0) / 3)
    s = score_train(expected, [g([1, 2, 3, 4]), g([5]), g([6, 6])])  # shape mismatch scores 0
    assert (s.train_correct, s.passes_train, s.pixel_score) == (2, False, pytest.approx(2 / 3))
    assert score_train(expected, list(expected)).passes_train
    with pytest.raises(ValueError, match="2 outputs for 3 train pairs"):
        score_train(expected, [None, None])


def cand(code, correct, passes, *outs):
    return Candidate(code, correct, passes, list(outs))


def test_passing_programs_rank_before_the_majority():
    cands = [cand("x", 1, False, A)] * 5 + [cand("long passing program", 2, True, B)]
    assert [a.tolist() for a in select_attempts(cands, 1)[0]] == [B.tolist(), A.tolist()]


def test_votes_then_shorter_code_then_first_seen():
    cands = [
        cand("dd", 1, False, D),        # lower group: after everything that passes
        cand("ccccc", 2, True, C),
        cand("a", 2, True, A),          # A: 1 vote; the shortest code cannot beat more votes
        cand("cccccccc", 2, True, C),   # C: 2 votes, shortest 5, seen first
        cand("bbbbbbbbbb", 2, True, B),
        cand("bbb", 2, True, B),        # B: 2 votes, shortest 3 -> wins the tie with C
        cand("x", 2, True, None),       # no output: no vote
    ]
    assert [a.tolist() for a in select_attempts(cands, 1)[0]] == [B.tolist(), C.tolist()]
    # Equal votes and equal shortest code: the output seen first wins.
    tie = [cand("abc", 1, False, C), cand("xyz", 1, False, A)]
    assert [a.tolist() for a in select_attempts(tie, 1)[0]] == [C.tolist(), A.tolist()]


def test_groups_by_train_correct_and_distinct_attempts():
    cands = [cand("p", 1, False, A), cand("q", 3, False, B), cand("r", 3, False, B), cand("s", 2, False, B)]
    # B leads its group (3 correct); the group with 2 correct offers B again, skipped; then A.
    assert [a.tolist() for a in select_attempts(cands, 1)[0]] == [B.tolist(), A.tolist()]


def test_per_test_input_selection_and_missing_outputs():
    cands = [cand("a", 1, True, A, None), cand("b", 1, True, B, C)]
    attempts = select_attempts(cands, 2)
    assert [[x.tolist() for x in t] for t in attempts] == [[A.tolist(), B.tolist()], [C.tolist()]]
    assert select_attempts([], 2) == [[], []]
    with pytest.raises(ValueError, match="candidate 0: 1 test outputs, expected 2"):
        select_attempts([cand("a", 0, False, A)], 2)


def test_either_of_the_first_two_attempts_counts():
    assert any_attempt_correct([A, B], B) and any_attempt_correct([B], B)
    assert not any_attempt_correct([A, C, B], B)  # a third attempt does not count
    assert any_attempt_correct([None, B], B) and not any_attempt_correct([None, None], B)
    assert not any_attempt_correct([g([1, 2])], g([1], [2]))  # same cells, other shape
    assert not any_attempt_correct([], B)


def test_task_score_is_the_fraction_of_test_inputs_solved():
    assert task_score([[A, B], [C]], [B, D]) == 0.5
    assert task_score([[A, B], [D]], [B, D]) == 1.0
    assert task_score([[], [C]], [B, D]) == 0.0
    assert task_score([[A, B, C]], [C]) == 0.0  # only two attempts count
    assert task_score([[g([1, 2])]], [g([1], [2])]) == 0.0  # same cells, other shape
    with pytest.raises(ValueError):
        task_score([[A]], [A, B])
