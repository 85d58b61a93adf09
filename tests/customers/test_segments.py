"""Saved segments: the list's filters under a name, their extra filters, counts and trend."""

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from customers import queries, segments
from customers.filters import segment_customers
from customers.models import Audience, SegmentCount, TierChange
from customers.tasks import record_segment_counts_task
from programs.models import Enrollment, Program
from tests.factories import CustomerFactory, PurchaseFactory

pytestmark = pytest.mark.django_db


def names(queryset) -> set[str]:
    return {customer.last_name for customer in queryset}


def test_it_saves_the_list_filter_and_finds_the_same_customers(marketer, manager):
    CustomerFactory(last_name="B2b-risky", audience=Audience.B2B, churn_risk=80, owner=manager)
    CustomerFactory(last_name="B2b-calm", audience=Audience.B2B, churn_risk=10, owner=manager)
    CustomerFactory(last_name="Retail-risky", audience=Audience.RETAIL, churn_risk=90)

    segment = segments.save_segment(
        owner=marketer,
        name="B2B clients at risk",
        query=f"audience=b2b&risk=high&owner={manager.username}&page=3&q=",
    )

    assert segment.filters == {"audience": ["b2b"], "risk": ["high"], "owner": [manager.username]}
    assert names(segment_customers(segment)) == {"B2b-risky"}


def test_a_bad_filter_or_name_is_refused_and_nothing_saved(marketer):
    with pytest.raises(ValidationError) as bad_risk:
        segments.save_segment(owner=marketer, name="x", query="risk=extreme")
    with pytest.raises(ValidationError) as no_name:
        segments.save_segment(owner=marketer, name="  ", query="risk=high")
    segments.save_segment(owner=marketer, name="Mine", query="risk=high")
    with pytest.raises(ValidationError) as twice:
        segments.save_segment(owner=marketer, name="Mine", query="risk=low")

    assert "risk" in bad_risk.value.message_dict
    assert "name" in no_name.value.message_dict
    assert "already" in twice.value.message_dict["name"][0]
    assert marketer.segments.count() == 1


def test_an_account_managers_segment_holds_only_their_customers(manager, other_manager, marketer):
    CustomerFactory(last_name="Mine", owner=manager)
    CustomerFactory(last_name="Theirs", owner=other_manager)
    mine = segments.save_segment(owner=manager, name="All", query="")

    assert names(segment_customers(mine)) == {"Mine"}
    assert list(queries.segments_for(other_manager)) == []
    assert list(queries.segments_for(marketer)) == [mine]


def test_tier_moved_in_the_last_days(marketer):
    moved, long_ago, never = (CustomerFactory(last_name=n) for n in ("Moved", "Long", "Never"))
    TierChange.objects.create(customer=moved, reason="up", direction="up")
    TierChange.objects.create(
        customer=long_ago,
        reason="up",
        direction="up",
        changed_at=timezone.now() - timedelta(days=40),
    )
    segment = segments.save_segment(owner=marketer, name="Moved", query="tier_moved_days=30")

    assert names(segment_customers(segment)) == {"Moved"}
    with pytest.raises(ValidationError):
        segments.save_segment(owner=marketer, name="Bad", query="tier_moved_days=0")


def test_bought_and_never_bought_a_category(marketer):
    shoes, bags = CustomerFactory(last_name="Shoes"), CustomerFactory(last_name="Bags")
    CustomerFactory(last_name="Nothing")
    PurchaseFactory(customer=shoes, product_category="Shoes")
    PurchaseFactory(customer=bags, product_category="Bags")

    bought = segments.save_segment(owner=marketer, name="b", query="bought=shoes")
    not_bought = segments.save_segment(owner=marketer, name="n", query="not_bought=Shoes")

    assert names(segment_customers(bought)) == {"Shoes"}
    assert names(segment_customers(not_bought)) == {"Bags", "Nothing"}


def test_latest_nps_in_a_range(marketer):
    for last_name, score in (("Detractor", 3), ("Passive", 7), ("Promoter", 10), ("Silent", None)):
        CustomerFactory(last_name=last_name, nps_latest=score)
    segment = segments.save_segment(owner=marketer, name="n", query="nps_min=0&nps_max=6")

    assert names(segment_customers(segment)) == {"Detractor"}
    with pytest.raises(ValidationError):
        segments.save_segment(owner=marketer, name="bad", query="nps_max=11")


def test_enrolled_and_never_enrolled_in_a_program_come_from_programs(marketer):
    program = Program.objects.order_by("id").first()
    inside, outside = CustomerFactory(last_name="Inside"), CustomerFactory(last_name="Outside")
    Enrollment.objects.create(program=program, customer=inside)

    enrolled = segments.save_segment(owner=marketer, name="e", query=f"program=in:{program.pk}")
    never = segments.save_segment(owner=marketer, name="n", query=f"program=out:{program.pk}")

    assert names(segment_customers(enrolled)) == {"Inside"}
    assert names(segment_customers(never)) == {"Outside"}
    assert outside.pk in {c.pk for c in segment_customers(never)}


def test_a_segment_whose_program_is_gone_holds_nobody(marketer):
    program = Program.objects.create(name="Short-lived")
    CustomerFactory()
    segment = segments.save_segment(owner=marketer, name="e", query=f"program=out:{program.pk}")
    program.delete()

    assert list(segment_customers(segment)) == []


def test_beat_notes_a_count_a_day_and_the_trend_reads_them(marketer):
    CustomerFactory.create_batch(3, churn_risk=90)
    segment = segments.save_segment(owner=marketer, name="At risk", query="risk=high")
    segments.record_counts(today=timezone.localdate() - timedelta(days=1))
    CustomerFactory(churn_risk=95)

    assert record_segment_counts_task() == 1
    assert record_segment_counts_task() == 1  # again the same day: one point, updated

    assert SegmentCount.objects.filter(segment=segment).count() == 2
    assert queries.segment_trends([segment]) == {segment.pk: [3, 4]}


def test_the_bounded_count_stops_past_the_bound(marketer):
    CustomerFactory.create_batch(4)
    live = queries.visible_customers(marketer)

    assert queries.bounded_count(live, bound=10) == 4
    assert queries.bounded_count(live, bound=2) == 3  # "more than 2"
