"""Reviews, grace and the soft landing (customers/standing.py): pure, table-driven and with
hypothesis."""

from datetime import date, timedelta
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from customers.ladder import DEFAULT_LADDER, LadderFacts, Thresholds, place_on_ladder
from customers.standing import Outcome, ReviewTerms, Standing, requirements, review
from tests.customers.test_ladder import ladder_facts

TODAY = date(2026, 6, 1)
TERMS = ReviewTerms(review_days=365, grace_days=60)


def on(days: int) -> date:
    return TODAY + timedelta(days=days)


@pytest.mark.parametrize(
    ("standing", "earned", "expected"),
    [
        pytest.param(Standing(position=None), 2, (Outcome.PLACE, 2, on(365), None), id="new"),
        pytest.param(
            Standing(position=1, review_on=on(200)),
            3,
            (Outcome.PROMOTE, 3, on(365), None),
            id="promotion is immediate and starts a new period",
        ),
        pytest.param(
            Standing(position=3, review_on=on(-1), grace_until=on(10)),
            4,
            (Outcome.PROMOTE, 4, on(365), None),
            id="promotion during grace ends the risk",
        ),
        pytest.param(
            Standing(position=3, review_on=on(1)),
            0,
            (Outcome.KEEP, 3, on(1), None),
            id="short before review keeps the rung",
        ),
        pytest.param(
            Standing(position=3, review_on=on(0)),
            0,
            (Outcome.AT_RISK, 3, on(0), on(60)),
            id="short at review starts grace",
        ),
        pytest.param(
            Standing(position=3, review_on=on(-30), grace_until=on(30)),
            0,
            (Outcome.KEEP, 3, on(-30), on(30)),
            id="nobody drops during grace",
        ),
        pytest.param(
            Standing(position=3, review_on=on(-60), grace_until=on(0)),
            0,
            (Outcome.DROP, 2, on(365), None),
            id="end of grace drops one rung only",
        ),
        pytest.param(
            Standing(position=3, review_on=on(-60), grace_until=on(0)),
            2,
            (Outcome.DROP, 2, on(365), None),
            id="drop to the earned rung when it is one below",
        ),
        pytest.param(
            Standing(position=3, review_on=on(-10), grace_until=on(50)),
            3,
            (Outcome.RECOVER, 3, on(365), None),
            id="qualifying again in grace renews",
        ),
        pytest.param(
            Standing(position=3, review_on=on(0)),
            3,
            (Outcome.RENEW, 3, on(365), None),
            id="qualifying at review renews",
        ),
        pytest.param(
            Standing(position=3, review_on=on(5)),
            3,
            (Outcome.KEEP, 3, on(5), None),
            id="qualifying before review changes nothing",
        ),
        pytest.param(
            Standing(position=3), 1, (Outcome.SCHEDULE, 3, on(365), None), id="no review date yet"
        ),
    ],
)
def test_review_decides_the_standing(standing, earned, expected):
    verdict = review(standing=standing, earned=earned, today=TODAY, terms=TERMS)

    assert (verdict.outcome, verdict.position, verdict.review_on, verdict.grace_until) == expected


def test_review_terms_refuse_a_period_of_nothing_and_a_negative_grace():
    with pytest.raises(ValueError, match="review_days"):
        ReviewTerms(review_days=0)
    with pytest.raises(ValueError, match="grace_days"):
        ReviewTerms(grace_days=-1)


nights = st.lists(
    st.tuples(st.integers(min_value=1, max_value=120), st.integers(min_value=0, max_value=5)),
    min_size=1,
    max_size=60,
)


@given(
    start=st.integers(min_value=0, max_value=5),
    nights=nights,
    review_days=st.integers(min_value=1, max_value=400),
    grace_days=st.integers(min_value=0, max_value=90),
)
def test_a_rung_never_drops_more_than_one_per_review_and_never_during_grace(
    start, nights, review_days, grace_days
):
    terms = ReviewTerms(review_days=review_days, grace_days=grace_days)
    today = TODAY
    current = review(standing=Standing(position=None), earned=start, today=today, terms=terms)
    last_drop: date | None = None
    for days, earned in nights:
        today += timedelta(days=days)
        before = current
        current = review(
            standing=Standing(
                position=before.position,
                review_on=before.review_on,
                grace_until=before.grace_until,
            ),
            earned=earned,
            today=today,
            terms=terms,
        )
        # Never below what the rules give; promotions are immediate.
        assert current.position >= earned
        if earned > before.position:
            assert (current.outcome, current.position) == (Outcome.PROMOTE, earned)
            last_drop = None
        if current.position < before.position:
            assert current.position == before.position - 1
            assert current.outcome is Outcome.DROP
            # Only after a review found them short and the whole grace has run.
            assert before.grace_until is not None and today >= before.grace_until
            assert today >= before.review_on
            if last_drop is not None:
                assert (today - last_drop).days >= review_days + grace_days
            last_drop = today
        if before.grace_until is not None and today < before.grace_until:
            assert current.position >= before.position


@given(facts=ladder_facts(with_hold=False), slug=st.sampled_from(DEFAULT_LADDER))
def test_nothing_is_missing_exactly_when_the_rules_reach_the_rung(facts, slug):
    reached = DEFAULT_LADDER.index(place_on_ladder(facts=facts).slug) >= DEFAULT_LADDER.index(slug)

    assert (requirements(facts=facts, slug=slug) == []) is reached


@pytest.mark.parametrize(
    ("facts", "slug", "lines"),
    [
        (
            {"purchase_count": 3, "purchases_12m": 1},
            "repeat",
            ["1 more purchase in the last 12 months"],
        ),
        (
            {"purchase_count": 3, "purchases_12m": 2, "spend_12m": "880.50"},
            "client",
            [
                "2 more purchases in the last 12 months",
                "120 more spend in the last 12 months",
                "or an active contract instead",
            ],
        ),
        (
            {"purchase_count": 2, "purchases_12m": 2, "open_complaints": 1},
            "advocate",
            ["a promoter answer (9–10) or 1 more converted referral", "1 open complaint resolved"],
        ),
        (
            {
                "purchase_count": 2,
                "purchases_12m": 2,
                "converted_referrals": 1,
                "latest_nps": 10,
                "latest_nps_on": TODAY - timedelta(days=200),
            },
            "raving-fan",
            [
                "1 more converted referral in the last 12 months",
                "a promoter answer (9–10) within 180 days",
            ],
        ),
        ({}, "first-time", ["a first purchase"]),
        ({}, "vip", []),
    ],
)
def test_requirements_read_as_lines_for_people(facts, slug, lines):
    if "spend_12m" in facts:
        facts = {**facts, "spend_12m": Decimal(facts["spend_12m"])}

    assert requirements(facts=LadderFacts(today=TODAY, **facts), slug=slug) == lines


@pytest.mark.parametrize(
    ("since", "months"),
    [
        (None, 0),
        (TODAY + timedelta(days=3), 0),  # a date in the future (clock skew)
        (date(2026, 5, 2), 0),
        (date(2026, 5, 1), 1),
        (date(2023, 6, 1), 36),
        (date(2023, 6, 2), 35),
    ],
)
def test_tenure_counts_whole_months_since_the_customer_became_one(since, months):
    assert LadderFacts(today=TODAY, customer_since=since).tenure_months == months


TENURE = Thresholds(client_min_tenure_months=36)


def test_tenure_makes_a_long_standing_repeat_buyer_a_client_when_the_rule_is_on():
    loyal = LadderFacts(
        today=TODAY, purchase_count=9, purchases_12m=2, customer_since=date(2023, 6, 1)
    )
    assert place_on_ladder(facts=loyal).slug == "repeat"  # the rule is off by default
    placed = place_on_ladder(facts=loyal, thresholds=TENURE)
    assert (placed.slug, placed.rule) == ("client", "client.tenure")
    assert "a customer for 36 months" in placed.reason
    newer = LadderFacts(
        today=TODAY, purchase_count=9, purchases_12m=2, customer_since=date(2024, 6, 1)
    )
    assert place_on_ladder(facts=newer, thresholds=TENURE).slug == "repeat"
    assert requirements(facts=newer, slug="client", thresholds=TENURE) == [
        "2 more purchases in the last 12 months",
        "1,000 more spend in the last 12 months",
        "or 12 more months as a customer, buying repeatedly",
        "or an active contract instead",
    ]


@given(
    facts=ladder_facts(with_hold=False),
    slug=st.sampled_from(DEFAULT_LADDER),
    months=st.integers(min_value=0, max_value=60),
)
def test_with_tenure_nothing_is_missing_exactly_when_the_rung_is_reached(facts, slug, months):
    rules = Thresholds(client_min_tenure_months=months)
    placed = place_on_ladder(facts=facts, thresholds=rules).slug
    reached = DEFAULT_LADDER.index(placed) >= DEFAULT_LADDER.index(slug)

    assert (requirements(facts=facts, slug=slug, thresholds=rules) == []) is reached


@given(
    facts=ladder_facts(with_hold=False),
    months=st.integers(min_value=1, max_value=60),
    earlier=st.integers(min_value=1, max_value=2000),
)
def test_longer_tenure_never_places_lower(facts, months, earlier):
    rules = Thresholds(client_min_tenure_months=months)
    since = facts.customer_since or TODAY
    longer = LadderFacts(**{**facts.__dict__, "customer_since": since - timedelta(days=earlier)})
    rank = DEFAULT_LADDER.index
    assert rank(place_on_ladder(facts=longer, thresholds=rules).slug) >= rank(
        place_on_ladder(facts=facts, thresholds=rules).slug
    )


def test_a_tier_with_its_own_review_period_is_kept_that_long():
    terms = ReviewTerms(review_days=365, grace_days=60, review_days_at=(None, None, 90, 730))
    placed = review(standing=Standing(position=None), earned=3, today=TODAY, terms=terms)
    assert placed.review_on == on(730)
    landed = review(
        standing=Standing(position=3, review_on=on(-60), grace_until=on(0)),
        earned=0,
        today=TODAY,
        terms=terms,
    )
    assert (landed.position, landed.review_on) == (2, on(90))
    assert review(
        standing=Standing(position=None), earned=1, today=TODAY, terms=terms
    ).review_on == on(365)
    with pytest.raises(ValueError, match="review_days"):
        ReviewTerms(review_days_at=(None, 0))


@given(
    start=st.integers(min_value=0, max_value=5),
    nights=nights,
    own=st.lists(st.one_of(st.none(), st.integers(min_value=1, max_value=400)), max_size=6),
    review_days=st.integers(min_value=1, max_value=400),
    grace_days=st.integers(min_value=0, max_value=90),
)
def test_with_periods_per_tier_a_rung_still_drops_one_at_most_per_review(
    start, nights, own, review_days, grace_days
):
    terms = ReviewTerms(review_days=review_days, grace_days=grace_days, review_days_at=tuple(own))
    today = TODAY
    current = review(standing=Standing(position=None), earned=start, today=today, terms=terms)
    assert current.review_on == today + timedelta(days=terms.days_at(start))
    for days, earned in nights:
        today += timedelta(days=days)
        before = current
        current = review(
            standing=Standing(
                position=before.position,
                review_on=before.review_on,
                grace_until=before.grace_until,
            ),
            earned=earned,
            today=today,
            terms=terms,
        )
        assert current.position >= earned
        assert current.position >= before.position - 1
        if current.position < before.position:
            assert before.grace_until is not None and today >= before.grace_until
        if current.review_on != before.review_on:
            # A new period is the period of the rung it is for.
            assert current.review_on == today + timedelta(days=terms.days_at(current.position))
