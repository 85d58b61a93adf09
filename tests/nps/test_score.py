"""nps/score.py against hand-computed cases and properties."""

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from nps import score


@pytest.mark.parametrize(
    ("answer", "kind"),
    [
        (0, "detractor"),
        (6, "detractor"),
        (7, "passive"),
        (8, "passive"),
        (9, "promoter"),
        (10, "promoter"),
    ],
)
def test_categories(answer, kind):
    assert score.category(answer) == kind


@pytest.mark.parametrize("answer", [-1, 11])
def test_answers_outside_0_to_10_are_refused(answer):
    with pytest.raises(ValueError):
        score.category(answer)


def test_all_promoters_is_100_and_all_detractors_is_minus_100():
    assert score.from_scores([9, 10, 10]).nps == 100
    assert score.from_scores([0, 3, 6]).nps == -100


def test_a_known_mix_with_its_margin_of_error():
    # 50 promoters, 30 passives, 20 detractors: NPS 30.
    # Adjusted: n = 103, p = 50.75/103, d = 20.75/103;
    # variance = p + d - (p - d)^2 = 0.694175 - 0.084834 = 0.609341;
    # margin = 100 * 1.959964 * sqrt(0.609341 / 103) = 15.075 points.
    summary = score.summarize(promoters=50, passives=30, detractors=20)

    assert summary.nps == 30
    assert round(summary.margin_of_error, 3) == 15.075
    assert (round(summary.low, 3), round(summary.high, 3)) == (14.925, 45.075)


def test_no_answers_has_no_score():
    summary = score.summarize(promoters=0, passives=0, detractors=0)

    assert summary.nps is None and summary.margin_of_error is None


def test_small_groups_are_marked_untrustworthy():
    assert not score.summarize(promoters=20, passives=5, detractors=4).is_trustworthy
    assert score.summarize(promoters=20, passives=6, detractors=4).is_trustworthy


def test_response_rate():
    assert score.response_rate(responses=25, invitations=100) == 0.25
    assert score.response_rate(responses=0, invitations=0) is None


@given(st.lists(st.integers(min_value=0, max_value=10), min_size=1, max_size=500))
def test_nps_stays_within_bounds_and_the_interval_covers_it(scores):
    summary = score.from_scores(scores)

    assert -100 <= summary.nps <= 100
    assert summary.margin_of_error > 0
    assert -100 <= summary.low <= summary.nps <= summary.high <= 100
    assert summary.responses == len(scores)


@given(st.integers(0, 200), st.integers(0, 200), st.integers(0, 200))
def test_the_margin_shrinks_as_answers_multiply(p, q, d):
    if p + q + d == 0:
        return
    small = score.summarize(promoters=p, passives=q, detractors=d)
    large = score.summarize(promoters=4 * p, passives=4 * q, detractors=4 * d)

    assert large.margin_of_error < small.margin_of_error
    assert math.isclose(large.nps, small.nps)
