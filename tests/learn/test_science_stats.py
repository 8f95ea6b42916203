"""The experiment's statistics with known inputs: the paired bootstrap, the split, the choice."""
from __future__ import annotations

import pytest

from arcfarm.bench.science import choose, fixed_arms, recipe_arms, split
from arcfarm.bench.science_stats import paired_bootstrap, pass_curve


def test_identical_arms_differ_by_exactly_zero():
    assert paired_bootstrap([1, 0, 1, 0.5], [1, 0, 1, 0.5]) == (0.0, 0.0, 0.0)


def test_a_constant_difference_has_no_spread():
    assert paired_bootstrap([1, 1, 1], [0, 0, 0]) == (1.0, 1.0, 1.0)


def test_two_tasks_give_the_three_point_distribution():
    # differences (1, 0): resampled means 0, 0.5, 1 with probabilities 1/4, 1/2, 1/4
    mean, low, high = paired_bootstrap([1, 0], [0, 0], draws=20000)
    assert (mean, low, high) == (0.5, 0.0, 1.0)


def test_interval_matches_the_normal_approximation():
    # 30 of 100 tasks gained one task, none lost: mean 0.3, standard error sqrt(0.3*0.7/100) = 0.046
    a, b = [1] * 30 + [0] * 70, [0] * 100
    mean, low, high = paired_bootstrap(a, b, draws=20000)
    assert mean == pytest.approx(0.3)
    assert low == pytest.approx(0.3 - 1.96 * 0.0458, abs=0.015)
    assert high == pytest.approx(0.3 + 1.96 * 0.0458, abs=0.015)


def test_pairing_matters():
    """The same per-arm means, paired: arm a is b plus one task, so the interval is tight."""
    b = [1, 0] * 25
    a = [1, 0] * 24 + [1, 1]
    _, low, high = paired_bootstrap(a, b)
    assert 0.0 <= low <= high <= 0.06


def test_bad_input_is_named():
    with pytest.raises(ValueError, match="equal-length"):
        paired_bootstrap([1, 0], [1])


def test_pass_curve():
    assert pass_curve([2, None, 1, 4], 4) == [0.25, 0.5, 0.5, 0.75]


def test_split_is_by_id_hash_and_disjoint():
    ids = [f"t{i}" for i in range(20)]
    val, test = split(ids, 5, 10)
    assert len(val) == 5 and len(test) == 10 and not set(val) & set(test)
    assert split(list(reversed(ids)), 5, 10) == (val, test)  # file order does not matter
    assert split(ids, 5, 0)[1] == split(ids, 5, 15)[1]
    with pytest.raises(ValueError, match="none left to test on"):
        split(ids, 20, 0)


def test_choose_prefers_pass_at_n_then_pass_at_2():
    table = {"a": {"pass_at_n": 0.5, "pass_at_2": 0.5}, "b": {"pass_at_n": 0.6, "pass_at_2": 0.1},
             "c": {"pass_at_n": 0.6, "pass_at_2": 0.2}}
    assert choose(table) == "c"


def test_arms_share_the_schedule_and_budget():
    arms = fixed_arms(128) + recipe_arms(128, ["reference-lr1e-4"])
    totals = [a.values["initial_predictions"] + a.values.get("max_epochs", 0) * a.values.get("predictions_per_epoch", 0)
              for a in arms]
    assert totals == [128] * 4
    assert arms[1].values["learning"] is False
    with pytest.raises(ValueError, match="unknown recipe"):
        recipe_arms(128, ["magic"])
