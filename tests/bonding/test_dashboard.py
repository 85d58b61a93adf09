"""The marketer's dashboard: each widget's figures, the tallies behind them, roles, queries."""

from datetime import UTC, datetime, time, timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.db.models import Count, Max, Sum
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from bonding import queries, services
from bonding.celery import app
from bonding.models import TallyState
from customers import placement, records
from customers.models import Customer, FollowUp, Tier, TierChange
from nps import queries as nps_queries
from nps import score
from nps.models import Invitation, Response
from programs.models import Enrollment, Program, Step, Touch
from programs.responses import mark_waiting_done, record_response
from tests.factories import CustomerFactory, nps_answers

pytestmark = pytest.mark.django_db

NOW = timezone.now()
TODAY = datetime.combine(NOW.astimezone(UTC).date(), time.min, tzinfo=UTC)


def days_ago(days: int, hours: int = 12) -> datetime:
    """A moment `days` UTC days before today, at noon (never in the future)."""
    return min(TODAY - timedelta(days=days) + timedelta(hours=hours), timezone.now())


class Scene:
    """Two programs (one paused), customers of two managers on two rungs, touches over a year."""

    def __init__(self, manager, other_manager, *, copies: int = 1):
        self.program = Program.objects.create(name="Welcome")
        self.steps = [
            Step.objects.create(program=self.program, order=n, name=f"Step {n}") for n in (1, 2)
        ]
        paused = Program.objects.create(name="Paused", is_active=False)
        self.paused_step = Step.objects.create(program=paused, order=1, name="Old")
        repeat = Tier.objects.get(slug="repeat")
        self.customers = []
        for _ in range(copies):
            made = [
                CustomerFactory(
                    owner=manager,
                    lifetime_value=Decimal("1000.50"),
                    share_of_wallet=Decimal("0.2500"),
                ),
                CustomerFactory(
                    owner=manager,
                    tier=repeat,
                    audience="b2b",
                    lifetime_value=Decimal("300"),
                    share_of_wallet=Decimal("0.5"),
                ),
                CustomerFactory(owner=other_manager, tier=repeat, lifetime_value=Decimal("20")),
                CustomerFactory(owner=None, audience="b2b", lifetime_value=Decimal("7.25")),
            ]
            self.customers += made
            prospect, client, others, nobody = made
            self.touch(prospect, self.steps[0], days_ago(0, 0), responded=True)
            self.touch(prospect, self.steps[1], days_ago(1), status="waiting")
            self.touch(client, self.steps[0], days_ago(1), responded=True)
            self.touch(client, self.steps[1], days_ago(20))
            self.touch(client, self.paused_step, days_ago(60))
            self.touch(others, self.steps[0], days_ago(31), responded=True)
            self.touch(others, self.steps[1], days_ago(100))
            self.touch(nobody, self.steps[0], days_ago(200), responded=True)
            self.touch(nobody, self.steps[1], days_ago(400))  # before the longest period
            # Not sent: due soon, failed, for review, skipped.
            self.touch(prospect, self.steps[1], None, status="scheduled", due=NOW + timedelta(3))
            self.touch(client, self.steps[1], None, status="scheduled", due=NOW + timedelta(30))
            self.touch(others, self.steps[1], None, status="failed")
            self.touch(nobody, self.steps[1], None, status="review")
            self.touch(nobody, self.steps[0], None, status="skipped")
        TierChange.objects.create(
            customer=self.customers[1],
            from_tier=prospect.tier,
            to_tier=repeat,
            direction="up",
            reason="second purchase",
            changed_at=NOW - timedelta(days=3),
        )

    def touch(self, customer, step, sent_at, *, status="sent", responded=False, due=None):
        enrollment, _ = Enrollment.objects.get_or_create(program=step.program, customer=customer)
        earlier = Touch.objects.filter(enrollment=enrollment, step=step)
        return Touch.objects.create(
            enrollment=enrollment,
            step=step,
            customer=customer,
            channel="email",
            occurrence=1 + (earlier.aggregate(n=Max("occurrence"))["n"] or 0),
            due_at=due or sent_at or NOW,
            status=status,
            sent_at=sent_at,
            responded_at=sent_at + timedelta(hours=1) if responded else None,
        )


@pytest.fixture
def scene(manager, other_manager):
    return Scene(manager, other_manager)


def figures(board: queries.Dashboard) -> dict:
    """What the page shows, as plain data."""
    return {
        "rungs": {
            r.tier.slug: (
                r.count,
                r.promoted_in,
                r.demoted_out,
                r.lifetime_value,
                r.share_of_wallet,
            )
            for r in board.pyramid
            if r.count or r.promoted_in or r.demoted_out
        },
        "funnels": {
            s["step"].name: (s["sent"], s["responded"])
            for f in board.programs.funnels
            for s in f.steps
            if s["sent"]
        },
        "due": board.programs.due_next_week,
        "trouble": (board.programs.failed, board.programs.review),
        "attention": (board.attention.current, board.attention.prospects),
        "top": [c.pk for c in board.value.top],
    }


def raw_figures(scope: queries.Scope) -> dict:
    """The same figures computed straight from the rows, the slow way."""
    customers = scope.customers()
    rungs = {}
    for tier in Tier.objects.all():
        mine = customers.filter(tier=tier).aggregate(
            n=Count("id"),
            ltv=Sum("lifetime_value"),
            sow=Sum("share_of_wallet"),
            sow_n=Count("share_of_wallet"),
        )
        moves = TierChange.objects.filter(
            changed_at__gte=timezone.now() - timedelta(days=30), customer__in=customers
        )
        up = moves.filter(direction="up", to_tier=tier).count()
        down = moves.filter(direction="down", from_tier=tier).count()
        if mine["n"] or up or down:
            sow = mine["sow"] / mine["sow_n"] if mine["sow_n"] else None
            rungs[tier.slug] = (mine["n"], up, down, mine["ltv"] or Decimal(0), sow)
    sent = Touch.objects.filter(status__in=["sent", "waiting"], customer__in=customers)
    since = TODAY - timedelta(days=scope.days)
    funnels = {
        step.name: (
            sent.filter(step=step, sent_at__gte=since).count(),
            sent.filter(step=step, sent_at__gte=since, responded_at__isnull=False).count(),
        )
        for step in Step.objects.filter(program__is_active=True)
    }
    recent = sent.filter(sent_at__gte=TODAY - timedelta(days=90))
    states = Touch.objects.filter(customer__in=customers)
    due = dict(
        states.filter(status="scheduled", due_at__lt=timezone.now() + timedelta(days=7))
        .values("channel")
        .annotate(n=Count("id"))
        .values_list("channel", "n")
        .order_by()
    )
    return {
        "rungs": rungs,
        "funnels": {name: counts for name, counts in funnels.items() if counts[0]},
        "due": due,
        "trouble": (states.filter(status="failed").count(), states.filter(status="review").count()),
        "attention": (
            recent.exclude(customer__tier__slug="prospect").count(),
            recent.filter(customer__tier__slug="prospect").count(),
        ),
        "top": list(customers.order_by("-lifetime_value", "id").values_list("pk", flat=True)[:8]),
    }


SCOPES = [{}, {"days": 90}, {"days": 365, "audience": "b2b"}, {"audience": "retail"}]


def test_each_widget_shows_the_hand_counted_figures(scene, marketer):
    services.refresh_dashboard_tallies()

    shown = figures(queries.dashboard(queries.Scope(user=marketer, days=30)))

    prospect, client, others, nobody = scene.customers
    assert shown["rungs"] == {
        "prospect": (2, 0, 0, Decimal("1007.75"), Decimal("0.25")),
        "repeat": (2, 1, 0, Decimal("320.00"), Decimal("0.5")),
    }
    # Sent in the last 30 days: today, yesterday (one waiting) and 20 days ago; not 31.
    assert shown["funnels"] == {"Step 1": (2, 2), "Step 2": (2, 0)}
    assert shown["due"] == {"email": 1}
    assert shown["trouble"] == (1, 1)
    # 90 days: the paused program's touch counts too; prospects got 2 of 6.
    assert shown["attention"] == (4, 2)
    assert shown["top"] == [prospect.pk, client.pk, others.pk, nobody.pk]

    # A touch sent after the refresh counts at once (read live), before the next refresh.
    scene.touch(nobody, scene.steps[0], timezone.now())
    again = figures(queries.dashboard(queries.Scope(user=marketer, days=30)))
    assert again["funnels"]["Step 1"] == (3, 2) and again["attention"] == (4, 3)

    year = figures(queries.dashboard(queries.Scope(user=marketer, days=365, audience="b2b")))
    assert year["funnels"] == {"Step 1": (3, 2), "Step 2": (1, 0)}
    assert year["rungs"]["repeat"] == (1, 1, 0, Decimal("300.00"), Decimal("0.5"))
    assert year["trouble"] == (0, 1) and year["due"] == {}


def test_the_tallies_equal_the_raw_rows_after_mixed_writes(scene, marketer, manager):
    services.refresh_dashboard_tallies()
    prospect, client, others, nobody = scene.customers
    # Later: a response to a touch of a tallied day, a waiting touch done today, a touch
    # deleted, customers moved up a rung, to another audience, deleted; a touch sent today.
    old = Touch.objects.get(customer=client, step=scene.steps[1], status="sent")
    record_response(touch=old)
    waiting = Touch.objects.get(status="waiting")
    assert mark_waiting_done(touch=waiting, how="letter posted")
    Touch.objects.filter(customer=others, sent_at__isnull=False).first().delete()
    placement.set_tier(
        customer=prospect, tier=Tier.objects.get(slug="client"), by=manager, reason="big order"
    )
    records.update_customer(customer=nobody, data={"audience": "retail"}, by=None)
    records.delete_customer(customer=client, by=manager)
    scene.touch(others, scene.steps[0], timezone.now())
    scene.touch(others, scene.steps[1], None, status="failed")

    # Before the refresh, today's changes already show; after it, every one does.
    services.refresh_dashboard_tallies()

    for scope in [queries.Scope(user=marketer, **kw) for kw in SCOPES]:
        assert figures(queries.dashboard(scope)) == raw_figures(scope), scope
    assert figures(queries.dashboard(queries.Scope(user=marketer)))["attention"] == (4, 0)


def test_a_late_beat_catches_up_and_the_page_stays_exact_meanwhile(scene, marketer):
    services.refresh_touch_tally(now=timezone.now() - timedelta(days=5))
    assert TallyState.objects.get().touches_until == (TODAY - timedelta(days=5)).date()
    for kw in SCOPES:  # the five days since are read live
        scope = queries.Scope(user=marketer, **kw)
        assert figures(queries.dashboard(scope))["funnels"] == raw_figures(scope)["funnels"]

    services.refresh_touch_tally()

    assert TallyState.objects.get().touches_until == TODAY.date()
    scope = queries.Scope(user=marketer)
    assert figures(queries.dashboard(scope))["funnels"] == raw_figures(scope)["funnels"]


def test_an_account_manager_sees_only_their_own_customers_figures(scene, manager, marketer):
    services.refresh_dashboard_tallies()

    own = queries.Scope(user=manager, days=365)
    shown = figures(queries.dashboard(own))

    assert shown == raw_figures(own)
    assert shown["rungs"]["prospect"][0] == 1 and shown["rungs"]["repeat"][0] == 1
    assert shown["funnels"] == {"Step 1": (2, 2), "Step 2": (2, 0)}
    assert shown["trouble"] == (0, 0)
    assert set(shown["top"]) == {c.pk for c in scene.customers[:2]}
    # Another manager's customers stay out, even when asked for by name.
    theirs = figures(queries.dashboard(queries.Scope(user=manager, owner="manager2")))
    assert theirs["top"] == [] and theirs["rungs"] == {} and theirs["attention"] == (0, 0)
    # A marketer asking for that manager gets the same figures as the manager.
    by_owner = queries.Scope(user=marketer, days=365, owner="manager")
    assert figures(queries.dashboard(by_owner)) == shown


def test_the_page_reads_a_fixed_number_of_queries_whatever_the_data_size(
    scene, manager, other_manager, marketer, client, django_assert_max_num_queries
):
    client.force_login(marketer)
    urls = ["/", "/?days=90", "/?days=365&audience=b2b", "/?owner=manager"]

    def counts() -> list[int]:
        services.refresh_dashboard_tallies()
        found = []
        for url in urls:
            with CaptureQueriesContext(connection) as run:
                assert client.get(url, headers={"HX-Request": "true"}).status_code == 200
            found.append(len(run.captured_queries))
        return found

    few = counts()
    Scene(manager, other_manager, copies=5)
    assert counts() == few
    # 24, the count of customers at risk of dropping a tier, the remembered audience and the
    # segments to choose from, the lift of all programs against the global control group, and
    # the viewer's disabled webhooks; the lift ranking reads its tallies (one more query).
    with django_assert_max_num_queries(30):
        client.get("/")


def test_the_page_says_when_the_ladder_was_counted(scene, marketer, client):
    client.force_login(marketer)
    page = client.get("/").content.decode()
    assert "As of" not in page  # never refreshed: counted live

    services.refresh_dashboard_tallies()

    state = TallyState.objects.get()
    at = timezone.localtime(state.ladder_at).strftime("%H:%M")
    page = client.get("/").content.decode()
    assert f"As of {at}." in page and f"(as of {at})" in page


def test_beat_refreshes_both_tallies_every_minute():
    schedule = {entry["task"]: entry["schedule"] for entry in app.conf.beat_schedule.values()}
    assert schedule["bonding.tasks.refresh_ladder_tally_task"] == 60.0
    assert schedule["bonding.tasks.refresh_touch_tally_task"] == 60.0


def test_removed_rows_leave_the_tallies(scene, marketer):
    services.refresh_dashboard_tallies()
    Touch.objects.filter(sent_at__lt=TODAY).delete()
    Customer.objects.filter(audience="b2b").update(lifetime_value=0, updated_at=timezone.now())

    services.refresh_dashboard_tallies()

    shown = figures(queries.dashboard(queries.Scope(user=marketer, days=365)))
    assert shown["funnels"] == {"Step 1": (1, 1)}
    assert shown["rungs"]["prospect"][3] == Decimal("1000.50")


@pytest.mark.django_db(transaction=True)
def test_the_page_reads_one_snapshot_outside_a_test_transaction(manager, other_manager, marketer):
    scene = Scene(manager, other_manager)
    services.refresh_dashboard_tallies()

    with CaptureQueriesContext(connection) as run:
        board = queries.dashboard(queries.Scope(user=marketer, days=365))

    first = [query["sql"] for query in run.captured_queries[:2]]
    assert first[0] == "BEGIN" and "REPEATABLE READ READ ONLY" in first[1]
    assert figures(board) == raw_figures(queries.Scope(user=marketer, days=365))
    assert figures(board)["top"][0] == scene.customers[0].pk


def answers_and_follow_ups(scene, manager, other_manager) -> None:
    """Answers recorded with their owner and audience when given, open and done detractors'
    follow-ups; then a customer moves to another owner and audience, one is deleted."""
    prospect, client, others, nobody = scene.customers
    nps_answers(
        prospect,
        [
            {"score": 10, "owner_id_at_answer": manager.pk, "audience": "retail"},
            {
                "score": 3,
                "owner_id_at_answer": manager.pk,
                "audience": "retail",
                "answered_at": NOW - timedelta(days=60),
            },
        ],
    )
    nps_answers(client, [{"score": 2, "owner_id_at_answer": manager.pk, "audience": "b2b"}])
    nps_answers(others, [{"score": 9, "owner_id_at_answer": other_manager.pk}])
    nps_answers(nobody, [{"score": 1, "audience": "b2b"}])
    for customer, assignee, done in (
        (prospect, manager, False),
        (client, manager, False),
        (client, manager, True),
        (nobody, None, False),
        (others, other_manager, False),
    ):
        FollowUp.objects.create(
            customer=customer,
            assignee=assignee,
            due_at=NOW + timedelta(hours=customer.pk),
            reason="Detractor",
            source=f"detractor:{customer.pk}",
            done_at=NOW if done else None,
        )
    services.refresh_dashboard_tallies()
    # The client goes to the other manager (their answers and invitations stay recorded with
    # the one who had them; their open follow-up goes along), and to retail; the prospect is
    # deleted.
    records.update_customer(
        customer=client, data={"owner": other_manager, "audience": "retail"}, by=None
    )
    records.delete_customer(customer=prospect, by=manager)


def nps_figures(board: queries.Dashboard) -> dict:
    nps = board.nps
    return {
        "answers": (nps.current.responses, nps.current.nps),
        "months": sum(s.responses for _, s in nps.trend),
        "rate": nps.response_rate,
        "waiting": (nps.detractors_waiting_count, [f.pk for f in nps.detractors_waiting]),
    }


def raw_nps_figures(scope: queries.Scope) -> dict:
    """The NPS widget from the rows: an account manager's own, those of the live customers
    they have now; a marketer's of one owner, by the owner recorded with them; else all of
    them. Waiting follow-ups of live customers in scope (one owner's: assigned to them)."""
    answers, invitations = Response.objects.all(), Invitation.objects.all()
    if not scope.sees_everyone:
        theirs = Customer.objects.filter(deleted_at=None, owner_id=scope.one_owner_id)
        answers = answers.filter(customer__in=theirs)
        invitations = invitations.filter(customer__in=theirs)
    elif scope.one_owner_id is not None:
        answers = answers.filter(owner_id_at_answer=scope.one_owner_id)
        invitations = invitations.filter(owner_id=scope.one_owner_id)
    if scope.audience:
        answers = answers.filter(audience=scope.audience)
        invitations = invitations.filter(audience=scope.audience)
    recent = answers.filter(answered_at__gte=scope.since)
    sent = invitations.filter(sent_at__gte=scope.since)
    summary = score.from_scores(list(recent.values_list("score", flat=True)))
    waiting = FollowUp.objects.filter(
        source__startswith="detractor:", done_at=None, customer__in=scope.customers()
    ).order_by("due_at", "id")
    if scope.one_owner_id is not None:
        waiting = waiting.filter(assignee_id=scope.one_owner_id)
    return {
        "answers": (summary.responses, summary.nps),
        "months": answers.filter(answered_at__gte=nps_queries.month_start()).count(),
        "rate": score.response_rate(
            responses=sent.filter(response__isnull=False).count(), invitations=sent.count()
        ),
        "waiting": (waiting.count(), list(waiting.values_list("pk", flat=True)[:8])),
    }


def test_the_nps_widget_equals_the_rows_in_every_scope(scene, manager, other_manager, marketer):
    answers_and_follow_ups(scene, manager, other_manager)
    services.refresh_dashboard_tallies()

    scopes = [queries.Scope(user=marketer, **kw) for kw in SCOPES]
    scopes += [
        queries.Scope(user=marketer, days=365, owner="manager"),
        queries.Scope(user=marketer, owner="manager2", audience="retail"),
        queries.Scope(user=manager, days=365),
        queries.Scope(user=other_manager),
    ]
    for scope in scopes:
        assert nps_figures(queries.dashboard(scope)) == raw_nps_figures(scope), scope
    # The manager's year: no customer they have now (one deleted, one moved on), so no answer
    # and no follow-up; the other manager's: their own answer and the client's they took over,
    # with the client's open follow-up.
    mine = nps_figures(queries.dashboard(queries.Scope(user=manager, days=365)))
    assert mine == {"answers": (0, None), "months": 0, "rate": None, "waiting": (0, [])}
    theirs = nps_figures(queries.dashboard(queries.Scope(user=other_manager, days=365)))
    assert theirs["answers"] == (2, 0) and theirs["waiting"][0] == 2
    by_recorded_owner = queries.dashboard(queries.Scope(user=marketer, days=365, owner="manager"))
    assert nps_figures(by_recorded_owner)["answers"] == (3, pytest.approx(-100 / 3))
    # An audience's waiting count is the tally's, as of its refresh: the client has moved to
    # retail, the prospect is gone; nobody's is the one left.
    b2b = queries.dashboard(queries.Scope(user=marketer, audience="b2b")).nps
    assert b2b.detractors_waiting_count == 1 and b2b.waiting_at is not None


def test_an_account_manager_never_sees_another_owners_detractors(
    scene, manager, other_manager, marketer, client
):
    answers_and_follow_ups(scene, manager, other_manager)
    prospect, moved, others, nobody = scene.customers
    # A follow-up still assigned to the manager, of a customer now the other manager's.
    FollowUp.objects.create(
        customer=moved, assignee=manager, due_at=NOW, reason="Detractor", source="detractor:0"
    )
    client.force_login(manager)

    page = client.get("/").content.decode()

    assert f"/customers/{moved.pk}/" not in page and f"/customers/{others.pk}/" not in page
    assert "while the customer was theirs" not in page  # their customers now, not recorded
    board = queries.dashboard(queries.Scope(user=manager, owner="manager2"))
    assert nps_figures(board) == {
        "answers": (0, None),
        "months": 0,
        "rate": None,
        "waiting": (0, []),
    }


@pytest.mark.django_db(transaction=True)
def test_the_page_reads_in_one_snapshot_on_postgresql_and_takes_no_write_lock_on_sqlite(
    monkeypatch,
):
    with queries.one_snapshot():
        assert connection.in_atomic_block  # REPEATABLE READ READ ONLY
    # SQLite would open it with BEGIN IMMEDIATE (settings): the write lock for the whole page.
    monkeypatch.setattr(connection, "vendor", "sqlite")
    with queries.one_snapshot():
        assert not connection.in_atomic_block
