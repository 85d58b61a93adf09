"""The NPS tallies: kept exact by every write, and the figures read from them equal to the
figures counted from the answers themselves."""

from datetime import UTC, datetime, timedelta

import pytest
from django.utils import timezone

from customers import merge, records
from customers.models import Customer
from nps import queries, score, services
from nps.models import DayTally, GroupTally, Invitation, InvitationTally, Response, Survey
from tests.factories import person

pytestmark = pytest.mark.django_db


def tally_rows() -> dict[str, set]:
    """Every tally row that counts something."""
    return {
        "days": set(
            DayTally.objects.exclude(answers=0).values_list(
                "day", "survey", "audience", "score", "answers"
            )
        ),
        "groups": set(
            GroupTally.objects.exclude(answers=0).values_list(
                "grouping", "month", "key", "score", "answers"
            )
        ),
        "invitations": set(
            InvitationTally.objects.exclude(invited=0, answered=0).values_list(
                "day", "survey", "audience", "invited", "answered"
            )
        ),
    }


def figures(responses, invitations, since) -> dict:
    """What the pages and the API show, read from `responses` (every answer: the tallies; a
    filtered set: the answers) and `invitations` (None: the tallies)."""
    return {
        "summary": queries.summary(responses_qs=responses),
        "since": queries.summary(responses_qs=responses, since=since),
        "distribution": queries.distribution(responses_qs=responses, since=since),
        "monthly": queries.monthly(responses_qs=responses, months=14),
        **{by: queries.grouped(responses_qs=responses, by=by) for by in queries.GROUPINGS},
        "rate": queries.response_rate(since=since, invitations_qs=invitations),
        "rate_all": queries.response_rate(
            since=datetime(2000, 1, 1, tzinfo=UTC), invitations_qs=invitations
        ),
        "b2b": queries.summary(responses_qs=responses, since=since, audience="b2b"),
        "b2b_months": queries.monthly(responses_qs=responses, audience="b2b"),
        "retail_rate": queries.response_rate(
            since=since, invitations_qs=invitations, audience="retail"
        ),
    }


def a_mix_of_writes(manager, other_manager) -> None:
    """Invitations over a year, answers, answers changed (score and groups), a merge and a
    deleted customer: every write the tallies must follow."""
    survey = Survey.objects.get()
    other = Survey.objects.create(name="Second survey")
    people = [person(manager, n) for n in range(6)]
    now = timezone.now()
    earlier = services.invite(survey=survey, customers=people[:3], now=now - timedelta(days=200))
    later = services.invite(survey=other, customers=people[3:], now=now - timedelta(hours=30))
    services.invite(survey=survey, customers=people[:3], now=now)  # again after the window
    for invitation in earlier.invited:  # answered long ago: opened again to answer now
        Invitation.objects.filter(pk=invitation.pk).update(expires_at=now + timedelta(days=1))
        invitation.refresh_from_db()
    services.record_response(invitation=earlier.invited[0], score_value=10)
    services.record_response(invitation=earlier.invited[1], score_value=2, why="Late")
    services.record_response(invitation=earlier.invited[2], score_value=8)
    for invitation in later.invited:
        services.record_response(invitation=invitation, score_value=6)
    # Answering again moves the count to the new score, and to the customer's groups now.
    Customer.objects.filter(pk=people[1].pk).update(audience="b2b", owner=other_manager)
    services.record_response(invitation=earlier.invited[1], score_value=9)
    services.record_response(invitation=later.invited[0], score_value=7)
    merge.merge_customers(survivor=people[3], merged=people[4], by=manager)
    Customer.objects.get(pk=people[5].pk).delete()  # the back office can delete for good


def test_every_write_keeps_the_tallies_equal_to_a_recount(manager, other_manager):
    a_mix_of_writes(manager, other_manager)
    kept = tally_rows()

    services.rebuild_tallies()

    assert tally_rows() == kept
    assert sum(answers for *_, answers in kept["days"]) == Response.objects.count() == 5
    assert sum(n for *_, n, _ in kept["invitations"]) == Invitation.objects.count() == 8


def test_figures_from_the_tallies_equal_those_counted_from_the_answers(manager, other_manager):
    a_mix_of_writes(manager, other_manager)
    since = timezone.now() - timedelta(hours=40)  # inside a day: its rest from the answers

    tallied = figures(Response.objects.all(), None, since)
    counted = figures(Response.objects.filter(pk__gt=0), Invitation.objects.all(), since)

    assert tallied == counted
    assert tallied["summary"].responses == 5
    assert (tallied["rate_all"].invitations, tallied["rate_all"].responses) == (8, 5)
    assert [(g.key, g.summary.responses) for g in tallied["audience"]] == [
        ("retail", 4),
        ("b2b", 1),
    ]
    assert {g.key: g.summary.responses for g in tallied["owner"]} == {
        manager.pk: 4,
        other_manager.pk: 1,
    }


def test_survey_rows_count_from_the_tallies(manager, other_manager, django_assert_num_queries):
    a_mix_of_writes(manager, other_manager)

    with django_assert_num_queries(1):
        rows = {survey.name: (survey.invited, survey.answered) for survey in queries.survey_rows()}

    first = Survey.objects.order_by("id").first().name
    assert rows == {first: (6, 3), "Second survey": (2, 2)}


def test_days_and_months_are_the_organizations(settings, manager):
    settings.TIME_ZONE = "America/Los_Angeles"
    survey = Survey.objects.get()
    ann = person(manager)
    # 03:00 UTC on the 1st is still the last day of the month before in Los Angeles.
    sent = datetime(2026, 4, 1, 3, 0, tzinfo=UTC)
    invitation = services.invite(survey=survey, customers=[ann], now=sent).invited[0]
    Invitation.objects.filter(pk=invitation.pk).update(expires_at=timezone.now() + timedelta(1))
    invitation.refresh_from_db()
    response = services.record_response(invitation=invitation, score_value=9)
    Response.objects.filter(pk=response.pk).update(answered_at=sent)
    services.rebuild_tallies()

    assert list(DayTally.objects.values_list("day", "answers")) == [(sent.date() - timedelta(1), 1)]
    months = queries.grouped(responses_qs=Response.objects.all(), by="month")
    assert [(g.key, g.summary.responses) for g in months] == [("2026-03", 1)]
    assert months == queries.grouped(responses_qs=Response.objects.filter(pk__gt=0), by="month")


def test_the_summary_endpoint_reads_a_fixed_number_of_queries(
    client, marketer, manager, django_assert_max_num_queries
):
    a_mix_of_writes(manager, marketer)
    client.force_login(marketer)

    for group_by in ("month", "tier", "owner"):
        with django_assert_max_num_queries(6):
            response = client.get("/api/v1/nps/summary/", {"group_by": group_by})
        assert response.json()["responses"] == 5


def test_the_dashboard_widget_reads_the_tallies_as_the_answers_say(
    manager, other_manager, marketer, django_assert_max_num_queries
):
    from bonding.queries import Scope, nps_widget

    a_mix_of_writes(manager, other_manager)

    for audience in ("", "b2b", "retail"):
        scope = Scope(user=marketer, days=30, audience=audience)
        # Tallies, the rest of the first day from the rows, the waiting detractors and their
        # tally's state, the group.
        with django_assert_max_num_queries(9):
            widget = nps_widget(scope)
        kind = {"audience": audience} if audience else {}
        answers = Response.objects.filter(answered_at__gte=scope.since, **kind)
        assert widget.current == score.from_scores(list(answers.values_list("score", flat=True)))
        sent = Invitation.objects.filter(sent_at__gte=scope.since, **kind)
        answered = sent.filter(response__isnull=False).count()
        assert widget.response_rate == score.response_rate(
            responses=answered, invitations=sent.count()
        )
    everyone = nps_widget(Scope(user=marketer, days=365))
    assert [month for month, _ in everyone.trend] == [f"{timezone.localdate():%Y-%m}"]
    assert everyone.trend[0][1].responses == 5


def test_a_marketers_owner_filter_counts_what_was_given_while_the_customer_was_theirs(
    manager, other_manager, marketer, django_assert_max_num_queries
):
    from bonding.queries import Scope, nps_widget

    a_mix_of_writes(manager, other_manager)
    # Every invitation went out while the manager owned the customer; one customer has moved
    # on since (and answered again under the other manager), one more moves now.
    assert set(Invitation.objects.values_list("owner", flat=True)) == {manager.pk}
    Customer.objects.filter(owner=manager).update(owner=other_manager)

    for mine in (manager, other_manager):
        scope = Scope(user=marketer, days=365, owner=mine.username)
        with django_assert_max_num_queries(9):
            widget = nps_widget(scope)
        assert widget.by_owner
        answers = Response.objects.filter(owner_id_at_answer=mine.pk)
        assert widget.current == score.from_scores(list(answers.values_list("score", flat=True)))
        sent = Invitation.objects.filter(owner=mine)
        assert widget.response_rate == score.response_rate(
            responses=sent.filter(response__isnull=False).count(), invitations=sent.count()
        )
        # Whole months from the tally's owner grouping, as the answers count them.
        assert queries.monthly(owner=mine.pk) == queries.monthly(responses_qs=answers)
    assert nps_widget(Scope(user=marketer, days=365, owner="manager")).current.responses == 4


def test_an_account_manager_counts_the_answers_of_the_customers_they_have_now(
    client, manager, other_manager, django_assert_max_num_queries
):
    from bonding.queries import Scope, nps_widget

    a_mix_of_writes(manager, other_manager)
    # The manager's customers answered 10, 8, 7 and (merged) 6; the one who answered 9 moved
    # to the other manager before. The one who answered 10 moves now: it counts for its new
    # owner only.
    moved = Response.objects.get(score=10).customer
    records.update_customer(customer=moved, data={"owner": other_manager}, by=manager)

    for user in (manager, other_manager):
        with django_assert_max_num_queries(9):
            widget = nps_widget(Scope(user=user, days=365))
        assert not widget.by_owner
        theirs = Response.objects.filter(customer__owner=user, customer__deleted_at__isnull=True)
        assert widget.current == score.from_scores(list(theirs.values_list("score", flat=True)))
        assert [(month, s.responses) for month, s in widget.trend] == [
            (f"{timezone.localdate():%Y-%m}", theirs.count())
        ]
        sent = Invitation.objects.filter(customer__owner=user, customer__deleted_at__isnull=True)
        assert widget.response_rate == score.response_rate(
            responses=sent.filter(response__isnull=False).count(), invitations=sent.count()
        )
        # The same figure as the API's summary for the same account manager.
        client.force_login(user)
        api = client.get("/api/v1/nps/summary/").json()
        counts = ("responses", "promoters", "passives", "detractors")
        assert [api[name] for name in counts] == [getattr(widget.current, n) for n in counts]
    # Scores 8, 7 and 6 stay with the manager; 10 (moved now) and 9 are the other manager's.
    assert nps_widget(Scope(user=manager, days=365)).current.detractors == 1
    assert nps_widget(Scope(user=other_manager, days=365)).current.promoters == 2


def test_the_tallies_are_written_last_so_their_shared_rows_stay_locked_briefly(manager):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    survey = Survey.objects.get()
    Survey.objects.filter(pk=survey.pk).update(premium="A voucher")
    survey.refresh_from_db()
    invitation = services.invite(survey=survey, customers=[person(manager)]).invited[0]

    # A detractor with a premium: timeline, reward, follow-up and the customer's refresh.
    with CaptureQueriesContext(connection) as captured:
        services.record_response(invitation=invitation, score_value=3, why="Slow")

    statements = [
        q["sql"]
        for q in captured.captured_queries
        if not q["sql"].startswith(("SAVEPOINT", "RELEASE SAVEPOINT"))
    ]
    tally_writes = [i for i, sql in enumerate(statements) if "ON CONFLICT" in sql]
    assert len(tally_writes) == 3  # days, groups, invitations
    assert tally_writes == list(range(len(statements) - 3, len(statements)))
    assert [statements[i].split()[2] for i in tally_writes] == [
        "nps_daytally",
        "nps_grouptally",
        "nps_invitationtally",
    ]
