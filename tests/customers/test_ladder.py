from dataclasses import replace
from datetime import date, timedelta
from decimal import Decimal

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from customers.ladder import (
    BOND_STAGE_NAMES,
    BOND_STAGES,
    DEFAULT_LADDER,
    THRESHOLDS,
    Direction,
    LadderFacts,
    NpsCategory,
    Placement,
    Thresholds,
    direction,
    fit_to_ladder,
    nps_category,
    place_on_bond,
    place_on_ladder,
)

TODAY = date(2025, 6, 30)


def days_ago(days: int) -> date:
    return TODAY - timedelta(days=days)


def make_facts(**overrides) -> LadderFacts:
    return LadderFacts(today=TODAY, **overrides)


def rank(slug: str) -> int:
    return DEFAULT_LADDER.index(slug)


REPEAT = {"purchase_count": 5, "purchases_12m": 2}
CLIENT = {"purchase_count": 9, "purchases_12m": 4, "spend_12m": Decimal("1000.00")}
PROMOTER_RECENT = {"latest_nps": 9, "latest_nps_on": days_ago(180)}
PROMOTER_OLDER = {"latest_nps": 10, "latest_nps_on": days_ago(181)}
DETRACTOR_RECENT = {"latest_nps": 6, "latest_nps_on": days_ago(180)}


LADDER_ROWS = [
    pytest.param({}, "prospect", "prospect.no_purchase", id="no purchase"),
    pytest.param(
        {"purchase_count": 1, "purchases_12m": 1},
        "first-time",
        "first-time.single_purchase",
        id="one purchase ever",
    ),
    pytest.param(
        {"purchase_count": 1}, "first-time", "first-time.single_purchase", id="one old purchase"
    ),
    pytest.param({"purchase_count": 7}, "first-time", "first-time.lapsed", id="lapsed buyer"),
    pytest.param(
        {"purchase_count": 3, "purchases_12m": 1},
        "first-time",
        "first-time.purchases_12m",
        id="one recent of several",
    ),
    pytest.param(REPEAT, "repeat", "repeat.purchases_12m", id="two purchases in 12 months"),
    pytest.param(
        {**CLIENT, "spend_12m": Decimal("999.99")},
        "repeat",
        "repeat.purchases_12m",
        id="four purchases, too little spend",
    ),
    pytest.param(CLIENT, "client", "client.purchases_12m", id="four purchases and spend"),
    pytest.param(
        {"has_active_contract": True}, "client", "client.active_contract", id="active contract"
    ),
    pytest.param(
        {**REPEAT, "latest_nps": 9, "latest_nps_on": days_ago(365)},
        "advocate",
        "advocate.promoter",
        id="repeat promoter within 365 days",
    ),
    pytest.param(
        {**REPEAT, "latest_nps": 9, "latest_nps_on": days_ago(366)},
        "repeat",
        "repeat.purchases_12m",
        id="promoter answer too old",
    ),
    pytest.param(
        {**CLIENT, "converted_referrals": 1},
        "advocate",
        "advocate.converted_referrals",
        id="client with a converted referral",
    ),
    pytest.param(
        {"purchase_count": 1, "converted_referrals": 3, **PROMOTER_RECENT},
        "first-time",
        "first-time.single_purchase",
        id="referrals without repeat buying",
    ),
    pytest.param(
        {**REPEAT, "converted_referrals": 2, **PROMOTER_RECENT},
        "raving-fan",
        "raving-fan.referrals_and_promoter",
        id="two referrals and recent promoter",
    ),
    pytest.param(
        {**REPEAT, "converted_referrals": 2, **PROMOTER_OLDER},
        "advocate",
        "advocate.promoter",
        id="raving fan needs a promoter within 180 days",
    ),
    pytest.param(
        {**CLIENT, "converted_referrals": 2, **PROMOTER_RECENT, "open_complaints": 1},
        "client",
        "hold.open_complaints",
        id="open complaint holds below advocate",
    ),
    pytest.param(
        {**REPEAT, "converted_referrals": 1, **DETRACTOR_RECENT},
        "repeat",
        "hold.detractor",
        id="recent detractor holds below advocate",
    ),
    pytest.param(
        {**REPEAT, "converted_referrals": 1, "latest_nps": 6, "latest_nps_on": days_ago(181)},
        "advocate",
        "advocate.converted_referrals",
        id="old detractor answer no longer holds",
    ),
    pytest.param(
        {**REPEAT, "latest_nps": 10, "latest_nps_on": None},
        "repeat",
        "repeat.purchases_12m",
        id="undated NPS never counts",
    ),
    pytest.param(
        {"manual_tier_slug": "client", "manual_until": TODAY},
        "client",
        "manual.hold",
        id="manual hold on its last day",
    ),
    pytest.param(
        {**REPEAT, "manual_tier_slug": "vip", "manual_until": TODAY - timedelta(days=1)},
        "repeat",
        "repeat.purchases_12m",
        id="expired manual hold",
    ),
    pytest.param(
        {**REPEAT, "manual_tier_slug": "client"},
        "repeat",
        "repeat.purchases_12m",
        id="manual tier without end date",
    ),
]


@pytest.mark.parametrize(("overrides", "slug", "rule"), LADDER_ROWS)
def test_place_on_ladder_follows_each_rule(overrides, slug, rule):
    placement = place_on_ladder(facts=make_facts(**overrides))
    assert (placement.slug, placement.rule) == (slug, rule)
    assert placement.reason


def test_reason_quotes_the_figures():
    placement = place_on_ladder(facts=make_facts(purchase_count=4, purchases_12m=3))
    assert placement == Placement(
        slug="repeat",
        rule="repeat.purchases_12m",
        reason="3 purchases in the last 12 months",
        reason_key="%(count)s purchase in the last 12 months",
        reason_args={"count": "3", "_plural": "%(count)s purchases in the last 12 months"},
    )


def test_hold_reason_names_the_tier_they_would_reach():
    facts = make_facts(**REPEAT, converted_referrals=1, open_complaints=2)
    reason = place_on_ladder(facts=facts).reason
    assert "advocate" in reason
    assert "2 open complaints" in reason


def test_thresholds_can_be_overridden():
    strict = Thresholds(repeat_min_purchases_12m=3)
    facts = make_facts(**REPEAT)
    assert place_on_ladder(facts=facts, thresholds=strict).slug == "first-time"


BOND_ROWS = [
    pytest.param({}, "awareness", "awareness.known", id="known only"),
    pytest.param(
        {"stated_preferences": True},
        "identity",
        "identity.stated_preferences",
        id="stated preferences",
    ),
    pytest.param({"purchase_count": 1}, "identity", "identity.purchase", id="first purchase"),
    pytest.param(
        {"last_two_way_on": days_ago(180)},
        "relationship",
        "relationship.two_way",
        id="two-way exchange within 180 days",
    ),
    pytest.param(
        {"last_two_way_on": days_ago(181)}, "awareness", "awareness.known", id="old exchange"
    ),
    pytest.param(
        {"last_community_on": days_ago(365)},
        "community",
        "community.event",
        id="event within 365 days",
    ),
    pytest.param(
        {"last_community_on": days_ago(366), "purchase_count": 1},
        "identity",
        "identity.purchase",
        id="old event",
    ),
    pytest.param(
        {"referrals_made": 1}, "advocacy", "advocacy.referrals_made", id="referred someone"
    ),
    pytest.param(
        {"latest_nps": 9, "latest_nps_on": days_ago(365)},
        "advocacy",
        "advocacy.promoter",
        id="promoter within 365 days",
    ),
    pytest.param(
        {"latest_nps": 9, "latest_nps_on": days_ago(366)},
        "awareness",
        "awareness.known",
        id="old promoter answer",
    ),
    pytest.param(
        {"latest_nps": 8, "latest_nps_on": TODAY},
        "awareness",
        "awareness.known",
        id="passive is not advocacy",
    ),
]


@pytest.mark.parametrize(("overrides", "slug", "rule"), BOND_ROWS)
def test_place_on_bond_follows_each_rule(overrides, slug, rule):
    placement = place_on_bond(facts=make_facts(**overrides))
    assert (placement.slug, placement.rule) == (slug, rule)
    assert placement.reason


def test_every_bond_stage_has_a_display_name():
    assert tuple(BOND_STAGE_NAMES) == BOND_STAGES


@pytest.mark.parametrize(
    ("score", "category"),
    [
        (0, NpsCategory.DETRACTOR),
        (6, NpsCategory.DETRACTOR),
        (7, NpsCategory.PASSIVE),
        (8, NpsCategory.PASSIVE),
        (9, NpsCategory.PROMOTER),
        (10, NpsCategory.PROMOTER),
    ],
)
def test_nps_category_uses_standard_buckets(score, category):
    assert nps_category(score=score) is category


@pytest.mark.parametrize(
    "overrides",
    [
        {"purchase_count": -1},
        {"purchase_count": 1, "purchases_12m": 2},
        {"open_complaints": -1},
        {"spend_12m": Decimal("-0.01")},
        {"latest_nps": 11, "latest_nps_on": TODAY},
    ],
)
def test_contradictory_facts_are_rejected(overrides):
    with pytest.raises(ValueError):
        make_facts(**overrides)


@pytest.mark.parametrize(
    ("slug", "available", "expected"),
    [
        ("client", DEFAULT_LADDER, "client"),
        ("client", ("prospect", "first-time", "repeat", "advocate"), "repeat"),
        ("raving-fan", ("prospect", "repeat", "vip", "advocate"), "advocate"),
        ("repeat", ("prospect", "first-time", "gold", "client"), "first-time"),
        ("prospect", ("lead", "first-time", "client"), "first-time"),
        ("prospect", ("lead", "gold"), "lead"),
        ("gold", ("prospect", "gold"), "gold"),
        ("deleted-custom", ("lead", "first-time"), "first-time"),
    ],
)
def test_fit_to_ladder_steps_down_to_existing_tiers(slug, available, expected):
    assert fit_to_ladder(slug=slug, available=available) == expected


def test_fit_to_ladder_needs_at_least_one_tier():
    with pytest.raises(ValueError):
        fit_to_ladder(slug="client", available=())


@pytest.mark.parametrize(
    ("old_rank", "new_rank", "expected"),
    [(None, 0, Direction.UP), (1, 3, Direction.UP), (3, 1, Direction.DOWN), (2, 2, Direction.SAME)],
)
def test_direction_of_a_tier_change(old_rank, new_rank, expected):
    assert direction(old_rank=old_rank, new_rank=new_rank) == expected


recent_or_old_dates = st.one_of(st.none(), st.integers(min_value=-3, max_value=800).map(days_ago))


@st.composite
def ladder_facts(draw, *, with_hold: bool = True) -> LadderFacts:
    purchases_12m = draw(st.integers(min_value=0, max_value=12))
    latest_nps = draw(st.one_of(st.none(), st.integers(min_value=0, max_value=10)))
    manual_tier_slug = draw(st.one_of(st.none(), st.sampled_from(DEFAULT_LADDER + ("vip",))))
    return LadderFacts(
        today=TODAY,
        purchase_count=purchases_12m + draw(st.integers(min_value=0, max_value=20)),
        purchases_12m=purchases_12m,
        spend_12m=draw(st.decimals(min_value=0, max_value=20_000, places=2)),
        has_active_contract=draw(st.booleans()),
        latest_nps=latest_nps,
        latest_nps_on=draw(recent_or_old_dates),
        converted_referrals=draw(st.integers(min_value=0, max_value=5)),
        referrals_made=draw(st.integers(min_value=0, max_value=8)),
        open_complaints=draw(st.integers(min_value=0, max_value=3)),
        stated_preferences=draw(st.booleans()),
        last_two_way_on=draw(recent_or_old_dates),
        last_community_on=draw(recent_or_old_dates),
        manual_tier_slug=manual_tier_slug if with_hold else None,
        manual_until=draw(recent_or_old_dates) if with_hold else None,
        customer_since=draw(recent_or_old_dates),
    )


@given(facts=ladder_facts())
def test_place_on_ladder_always_gives_a_default_or_the_manual_slug(facts):
    slug = place_on_ladder(facts=facts).slug
    assert slug in DEFAULT_LADDER or slug == facts.manual_tier_slug


@given(facts=ladder_facts(with_hold=False), more=st.integers(min_value=1, max_value=5))
def test_more_converted_referrals_never_place_lower(facts, more):
    richer = replace(facts, converted_referrals=facts.converted_referrals + more)
    assert rank(place_on_ladder(facts=richer).slug) >= rank(place_on_ladder(facts=facts).slug)


@given(facts=ladder_facts(with_hold=False), more=st.integers(min_value=1, max_value=5))
def test_more_purchases_in_12_months_never_place_lower(facts, more):
    assume(facts.purchases_12m + more <= facts.purchase_count)
    busier = replace(facts, purchases_12m=facts.purchases_12m + more)
    assert rank(place_on_ladder(facts=busier).slug) >= rank(place_on_ladder(facts=facts).slug)


@given(facts=ladder_facts(with_hold=False), complaints=st.integers(min_value=1, max_value=4))
def test_open_complaints_may_only_lower(facts, complaints):
    calm = replace(facts, open_complaints=0)
    unhappy = replace(facts, open_complaints=complaints)
    assert rank(place_on_ladder(facts=unhappy).slug) <= rank(place_on_ladder(facts=calm).slug)


@given(facts=ladder_facts(with_hold=False), score=st.integers(min_value=0, max_value=6))
def test_a_detractor_answer_may_only_lower(facts, score):
    silent = replace(facts, latest_nps=None)
    detractor = replace(facts, latest_nps=score)
    assert rank(place_on_ladder(facts=detractor).slug) <= rank(place_on_ladder(facts=silent).slug)


@given(
    facts=ladder_facts(with_hold=False),
    manual=st.sampled_from(DEFAULT_LADDER + ("vip",)),
    days_left=st.integers(min_value=0, max_value=120),
)
def test_manual_hold_wins_until_it_expires(facts, manual, days_left):
    held = replace(facts, manual_tier_slug=manual, manual_until=TODAY + timedelta(days=days_left))
    placement = place_on_ladder(facts=held)
    assert (placement.slug, placement.rule) == (manual, "manual.hold")
    day_after = replace(held, today=held.manual_until + timedelta(days=1))
    rules_alone = replace(day_after, manual_tier_slug=None, manual_until=None)
    assert place_on_ladder(facts=day_after) == place_on_ladder(facts=rules_alone)


@given(
    facts=ladder_facts(with_hold=False),
    score=st.integers(min_value=9, max_value=10),
    extra_days=st.integers(min_value=1, max_value=1000),
)
def test_a_promoter_answer_older_than_the_window_no_longer_counts(facts, score, extra_days):
    stale = replace(
        facts,
        latest_nps=score,
        latest_nps_on=days_ago(THRESHOLDS.advocate_promoter_days + extra_days),
    )
    unanswered = replace(facts, latest_nps=None, latest_nps_on=None)
    assert place_on_ladder(facts=stale) == place_on_ladder(facts=unanswered)
    assert place_on_bond(facts=stale).slug == place_on_bond(facts=unanswered).slug


default_subsets = st.lists(st.sampled_from(DEFAULT_LADDER), unique=True).map(
    lambda slugs: sorted(slugs, key=DEFAULT_LADDER.index)
)
custom_slugs = st.lists(st.sampled_from(("vip", "lead", "gold", "ambassador")), unique=True)


@st.composite
def ladders(draw) -> list[str]:
    # A marketer's ladder: some default rungs in order, custom rungs slotted in anywhere.
    tiers = list(draw(default_subsets))
    for custom in draw(custom_slugs):
        tiers.insert(draw(st.integers(min_value=0, max_value=len(tiers))), custom)
    assume(tiers)
    return tiers


rule_slugs = st.one_of(st.sampled_from(DEFAULT_LADDER), st.sampled_from(("vip", "deleted")))


@given(slug=rule_slugs, available=ladders())
def test_fit_to_ladder_always_gives_an_existing_tier(slug, available):
    assert fit_to_ladder(slug=slug, available=available) in available


@given(slug=st.sampled_from(DEFAULT_LADDER), available=ladders())
def test_fit_to_ladder_never_picks_a_custom_tier_while_a_default_exists(slug, available):
    assume(any(tier in DEFAULT_LADDER for tier in available))
    assert fit_to_ladder(slug=slug, available=available) in DEFAULT_LADDER


@given(slug=st.sampled_from(DEFAULT_LADDER), available=ladders())
def test_fit_to_ladder_never_places_above_the_rule_when_a_lower_rung_exists(slug, available):
    lower_or_same = [t for t in available if t in DEFAULT_LADDER and rank(t) <= rank(slug)]
    assume(lower_or_same)
    assert fit_to_ladder(slug=slug, available=available) == lower_or_same[-1]


@given(facts=ladder_facts())
def test_place_on_bond_always_gives_a_stage(facts):
    assert place_on_bond(facts=facts).slug in BOND_STAGES
