"""nps/queries.py: the SQL aggregates against the pure arithmetic, and the dashboard's reads."""

from collections import defaultdict
from datetime import timedelta

import pytest
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from customers import activity
from customers.models import FollowUp, Tier
from nps import queries, score, services
from nps.models import Invitation, Response, Survey
from programs.models import Program
from tests.factories import nps_answers as answers
from tests.factories import person

pytestmark = pytest.mark.django_db

TIER_SLUGS = ["", "prospect", "first-time", "repeat"]


@pytest.fixture
def ann(manager):
    return person(manager)


answer_rows = st.lists(
    st.fixed_dictionaries(
        {
            "score": st.integers(0, 10),
            "tier_slug": st.sampled_from(TIER_SLUGS),
            "audience": st.sampled_from(["retail", "b2b"]),
            "owner": st.sampled_from([None, "manager", "marketer"]),
            "days_ago": st.integers(0, 400),
        }
    ),
    max_size=80,
)


@settings(
    max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(rows=answer_rows)
def test_sql_aggregates_equal_the_pure_function_on_random_answers(ann, manager, marketer, rows):
    Response.objects.all().delete()
    Invitation.objects.all().delete()
    users = {"manager": manager.pk, "marketer": marketer.pk, None: None}
    now = timezone.now()
    written = answers(
        ann,
        [
            {
                "score": r["score"],
                "tier_slug": r["tier_slug"],
                "audience": r["audience"],
                "owner_id_at_answer": users[r["owner"]],
                "answered_at": now - timedelta(days=r["days_ago"], minutes=1),
            }
            for r in rows
        ],
    )
    everything = Response.objects.all()

    assert queries.summary(responses_qs=everything) == score.from_scores([r["score"] for r in rows])
    keys = {
        "tier": lambda r: r.tier_slug,
        "audience": lambda r: r.audience,
        "owner": lambda r: r.owner_id_at_answer,
        "month": lambda r: f"{timezone.localtime(r.answered_at):%Y-%m}",
    }
    for by, key in keys.items():
        expected = defaultdict(list)
        for response in written:
            expected[key(response)].append(response.score)
        got = {
            group.key: group.summary for group in queries.grouped(responses_qs=everything, by=by)
        }
        assert got == {k: score.from_scores(scores) for k, scores in expected.items()}, by


def test_no_answers_is_an_empty_summary():
    summary = queries.summary(responses_qs=Response.objects.all())

    assert (summary.responses, summary.nps, summary.margin_of_error) == (0, None, None)


def test_groups_are_named_in_one_extra_query_at_most(ann, manager, django_assert_num_queries):
    program = Program.objects.get(is_prototype=True)
    answers(
        ann,
        [
            {
                "score": 10,
                "tier_slug": "repeat",
                "owner_id_at_answer": manager.pk,
                "program_id": program.pk,
                "audience": "b2b",
            },
            {"score": 3, "tier_slug": "", "owner_id_at_answer": None, "audience": "retail"},
        ],
    )
    everything = Response.objects.all()

    with django_assert_num_queries(2):
        tiers = queries.grouped(responses_qs=everything, by="tier")
    with django_assert_num_queries(2):
        programs = queries.grouped(responses_qs=everything, by="program")
    with django_assert_num_queries(2):
        owners = queries.grouped(responses_qs=everything, by="owner")
    with django_assert_num_queries(1):
        audiences = queries.grouped(responses_qs=everything, by="audience")

    assert [(g.key, g.label) for g in tiers] == [
        ("repeat", Tier.objects.get(slug="repeat").name),
        ("", "No tier"),
    ]
    assert {(g.key, g.label) for g in programs} == {
        (program.pk, program.name),
        (None, "Outside programs"),
    }
    assert {(g.key, g.label) for g in owners} == {(manager.pk, "manager"), (None, "No owner")}
    assert {(g.key, g.label) for g in audiences} == {("b2b", "B2B"), ("retail", "Retail")}


def test_grouping_by_something_unknown_is_refused():
    with pytest.raises(ValueError):
        queries.grouped(responses_qs=Response.objects.all(), by="weather")


def test_monthly_gives_twelve_months_with_empty_ones(ann):
    now = timezone.now()
    answers(
        ann,
        [
            {"score": 9, "answered_at": now},
            {"score": 0, "answered_at": now},
            {"score": 8, "answered_at": now - timedelta(days=800)},
        ],
    )

    months = queries.monthly(responses_qs=Response.objects.all())

    assert len(months) == 12
    assert months[-1].key == f"{timezone.localtime(now):%Y-%m}"
    assert months[-1].summary == score.from_scores([9, 0])
    assert all(m.summary.responses == 0 for m in months[:-1])


def test_distribution_counts_each_score_in_one_query(ann, django_assert_num_queries):
    answers(ann, [{"score": s} for s in (0, 0, 5, 9, 10, 10, 10)])

    with django_assert_num_queries(1):
        counts = queries.distribution(responses_qs=Response.objects.all())

    assert counts == [2, 0, 0, 0, 0, 1, 0, 0, 0, 1, 3]


def test_response_rate_counts_invitations_since_and_those_answered(manager):
    survey = Survey.objects.get()
    people = [person(manager, n) for n in range(4)]
    invited = services.invite(survey=survey, customers=people[:3]).invited
    services.record_response(invitation=invited[0], score_value=9)
    services.invite(survey=survey, customers=people[3:], now=timezone.now() - timedelta(days=100))

    rate = queries.response_rate(since=timezone.now() - timedelta(days=30))

    assert (rate.invitations, rate.responses, rate.rate) == (3, 1, pytest.approx(1 / 3))


def test_response_rate_without_invitations_is_none():
    rate = queries.response_rate(since=timezone.now() - timedelta(days=30))

    assert (rate.invitations, rate.responses, rate.rate) == (0, 0, None)


def test_open_detractors_are_those_whose_follow_up_is_still_open(
    manager, django_assert_num_queries
):
    survey = Survey.objects.get()
    called, waiting, happy = (person(manager, n) for n in range(3))
    invited = services.invite(survey=survey, customers=[called, waiting, happy]).invited
    services.record_response(invitation=invited[0], score_value=2)
    services.record_response(invitation=invited[1], score_value=5, why="Slow support")
    services.record_response(invitation=invited[2], score_value=10)
    activity.complete_follow_up(follow_up=FollowUp.objects.get(customer=called), by=manager)

    with django_assert_num_queries(1):
        detractors = queries.open_detractors()
        owners = [r.customer.owner.username for r in detractors]

    assert [r.customer for r in detractors] == [waiting]
    assert owners == ["manager"]
    assert detractors[0].follow_up_due == FollowUp.objects.get(customer=waiting).due_at


def test_verbatims_filter_by_category_and_words_newest_first(ann):
    now = timezone.now()
    answers(
        ann,
        [
            {"score": 2, "why": "Slow delivery", "answered_at": now - timedelta(days=3)},
            {
                "score": 3,
                "why": "",
                "improve": "Faster delivery please",
                "answered_at": now - timedelta(days=1),
            },
            {"score": 10, "why": "Lovely staff", "answered_at": now - timedelta(days=2)},
            {"score": 9, "why": "", "improve": "", "answered_at": now},
        ],
    )

    everything = queries.verbatims()
    detractors = queries.verbatims(category="detractor", search="delivery")
    small = queries.verbatims(size=2)

    assert [r.score for r in everything.rows] == [3, 10, 2]
    assert [r.score for r in detractors.rows] == [3, 2]
    assert ([r.score for r in small.rows], small.has_next) == ([3, 10], True)
    assert [r.score for r in queries.verbatims(size=2, number=2).rows] == [2]


def test_responses_for_an_account_manager_are_only_their_customers(
    manager, other_manager, marketer
):
    mine, theirs = person(manager, 1), person(other_manager, 2)
    answers(mine, [{"score": 9}])
    answers(theirs, [{"score": 1}])

    assert [r.customer for r in queries.responses_for(manager)] == [mine]
    assert queries.responses_for(marketer).count() == 2
