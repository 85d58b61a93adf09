"""Churn risk: bounded, explained, and moved the right way by each fact."""

from dataclasses import replace
from datetime import date, timedelta

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from customers import churn
from customers.churn import CHURN_BASELINE, ChurnFacts, churn_risk

TODAY = date(2026, 10, 14)


def days_ago(days: int) -> date:
    return TODAY - timedelta(days=days)


def make_facts(**overrides: object) -> ChurnFacts:
    return ChurnFacts(today=TODAY, **overrides)


SPOTLESS = make_facts(
    days_since_last_purchase=20,
    usual_gap_days=30,
    purchase_count=8,
    probability_alive=0.95,
    days_since_last_interaction=15,
)
DRIFTING = make_facts(
    days_since_last_purchase=120,
    usual_gap_days=40,
    purchase_count=6,
    probability_alive=0.5,
    latest_nps_score=5,
    latest_nps_date=days_ago(60),
    days_since_last_interaction=100,
)

facts_strategy = st.builds(
    ChurnFacts,
    today=st.just(TODAY),
    days_since_last_purchase=st.none() | st.integers(0, 5000),
    usual_gap_days=st.none() | st.floats(0, 2000),
    purchase_count=st.integers(0, 500),
    probability_alive=st.none() | st.floats(0, 1),
    latest_nps_score=st.none(),
    latest_nps_date=st.none(),
    open_complaints=st.lists(st.integers(-5, 2000).map(days_ago), max_size=6),
    resolved_complaints_12m=st.integers(0, 20),
    days_since_last_interaction=st.none() | st.integers(0, 5000),
    last_interaction_sentiment=st.sampled_from([None, "positive", "neutral", "negative"]),
    has_active_contract=st.booleans(),
    contract_ends_in_days=st.none() | st.integers(0, 2000),
).flatmap(
    lambda facts: st.one_of(
        st.just(facts),
        st.builds(
            lambda score, age: replace(
                facts, latest_nps_score=score, latest_nps_date=days_ago(age)
            ),
            st.integers(0, 10),
            st.integers(0, 800),
        ),
    )
)


@given(facts_strategy)
def test_churn_risk_is_always_within_zero_and_one_hundred(facts: ChurnFacts) -> None:
    risk = churn_risk(facts)
    assert isinstance(risk.score, int)
    assert 0 <= risk.score <= 100
    assert all(reason for reason in risk.reasons)


@given(facts_strategy)
def test_churn_risk_without_reasons_is_the_baseline(facts: ChurnFacts) -> None:
    risk = churn_risk(facts)
    if not risk.reasons:
        assert risk.score == CHURN_BASELINE


def test_spotless_customer_gets_the_baseline_and_no_reasons() -> None:
    assert churn_risk(SPOTLESS) == churn.ChurnRisk(score=CHURN_BASELINE, reasons=[])
    assert churn_risk(make_facts()) == churn.ChurnRisk(score=CHURN_BASELINE, reasons=[])


@pytest.mark.parametrize("customer", [SPOTLESS, DRIFTING], ids=["spotless", "drifting"])
def test_resolved_complaint_lowers_churn_risk(customer: ChurnFacts) -> None:
    resolved = churn_risk(replace(customer, resolved_complaints_12m=1))
    assert resolved.score < churn_risk(customer).score
    assert "1 complaint resolved in the last 12 months, which counts in their favour" in (
        resolved.reasons
    )


@pytest.mark.parametrize("customer", [SPOTLESS, DRIFTING], ids=["spotless", "drifting"])
def test_open_complaint_raises_churn_risk_and_more_when_older(customer: ChurnFacts) -> None:
    scores = [
        churn_risk(replace(customer, open_complaints=[days_ago(age)])).score for age in (0, 14, 42)
    ]
    assert churn_risk(customer).score < scores[0] < scores[1] < scores[2]


@given(facts_strategy, st.integers(0, 2000))
def test_open_complaint_never_lowers_churn_risk(facts: ChurnFacts, age: int) -> None:
    more = replace(facts, open_complaints=[*facts.open_complaints, days_ago(age)])
    assert churn_risk(more).score >= churn_risk(facts).score


@given(facts_strategy)
def test_resolved_complaint_never_raises_churn_risk(facts: ChurnFacts) -> None:
    more = replace(facts, resolved_complaints_12m=facts.resolved_complaints_12m + 1)
    assert churn_risk(more).score <= churn_risk(facts).score


def test_churn_reasons_name_the_figures_heaviest_first() -> None:
    risk = churn_risk(
        make_facts(
            days_since_last_purchase=210,
            usual_gap_days=45,
            purchase_count=5,
            latest_nps_score=3,
            latest_nps_date=date(2026, 10, 2),
            open_complaints=[days_ago(12)],
        )
    )
    assert risk.reasons == [
        "no purchase in 210 days, 4.7 times their usual gap of 45 days",
        "detractor on 2026-10-02 (NPS 3)",
        "open complaint 12 days old (opened 2026-10-02)",
    ]
    # 10 baseline + 35 overdue (capped) + 20 detractor + round(10 + 2 * 12 / 7) = 78.
    assert risk.score == 78


@pytest.mark.parametrize(
    ("overrides", "reason"),
    [
        (
            {"days_since_last_purchase": 90, "usual_gap_days": 45, "purchase_count": 3},
            "no purchase in 90 days, twice their usual gap of 45 days",
        ),
        (
            {"days_since_last_purchase": 200, "purchase_count": 1},
            "only one purchase, 200 days ago, and none since",
        ),
        (
            {"probability_alive": 0.2},
            "purchase model puts the chance they are still active at 20%",
        ),
        (
            {"latest_nps_score": 10, "latest_nps_date": date(2026, 5, 1)},
            "promoter on 2026-05-01 (NPS 10)",
        ),
        (
            {"latest_nps_score": 7, "latest_nps_date": date(2026, 5, 1)},
            "passive on 2026-05-01 (NPS 7)",
        ),
        ({"days_since_last_interaction": 150}, "no contact in 150 days"),
        (
            {"days_since_last_interaction": 12, "last_interaction_sentiment": "negative"},
            "last interaction (12 days ago) was negative",
        ),
        (
            {"has_active_contract": True, "contract_ends_in_days": 30},
            "contract ends in 30 days, on 2026-11-13",
        ),
        (
            {"has_active_contract": True, "contract_ends_in_days": 200},
            "active contract until 2027-05-02",
        ),
        ({"has_active_contract": True}, "active contract with no end date"),
        (
            {"resolved_complaints_12m": 3},
            "3 complaints resolved in the last 12 months, which counts in their favour",
        ),
    ],
)
def test_churn_reason_wording(overrides: dict[str, object], reason: str) -> None:
    assert churn_risk(make_facts(**overrides)).reasons == [reason]


@pytest.mark.parametrize(
    ("overrides", "direction"),
    [
        ({"latest_nps_score": 2, "latest_nps_date": days_ago(30)}, 1),
        ({"latest_nps_score": 10, "latest_nps_date": days_ago(30)}, -1),
        ({"latest_nps_score": 2, "latest_nps_date": days_ago(400)}, 0),
        ({"has_active_contract": True, "contract_ends_in_days": 400}, -1),
        ({"has_active_contract": True, "contract_ends_in_days": 20}, 1),
        ({"last_interaction_sentiment": "positive"}, -1),
        ({"last_interaction_sentiment": "neutral"}, 0),
        ({"days_since_last_interaction": 60}, 0),
        ({"days_since_last_interaction": 400}, 1),
    ],
)
def test_churn_factor_direction(overrides: dict[str, object], direction: int) -> None:
    baseline = churn_risk(SPOTLESS).score
    score = churn_risk(replace(SPOTLESS, **overrides)).score
    assert np.sign(score - baseline) == direction


def test_overdue_gap_and_probability_alive_are_not_counted_twice() -> None:
    overdue = make_facts(days_since_last_purchase=180, usual_gap_days=45, purchase_count=4)
    doomed = make_facts(probability_alive=0.1)
    both = replace(overdue, probability_alive=0.1)
    assert churn_risk(both).score == max(churn_risk(overdue).score, churn_risk(doomed).score)
    assert len(churn_risk(both).reasons) == 1


@pytest.mark.parametrize(
    "overrides",
    [
        {"days_since_last_purchase": -1},
        {"purchase_count": -1},
        {"probability_alive": 1.5},
        {"latest_nps_score": 11, "latest_nps_date": TODAY},
        {"latest_nps_score": 5},
        {"last_interaction_sentiment": "furious"},
        {"contract_ends_in_days": -3},
    ],
)
def test_churn_facts_reject_impossible_values(overrides: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        make_facts(**overrides)
