"""seed_demo fills an empty installation and changes nothing when run again."""

from collections.abc import Iterator
from datetime import datetime, timedelta
from io import StringIO
from typing import NamedTuple

import phonenumbers
import pytest
from django.contrib.auth.models import User
from django.core.management import CommandError, call_command
from django.test import override_settings
from django.utils import timezone

from bonding import queries as dashboard
from customers import queries
from customers.models import (
    Complaint,
    ConsentChange,
    Contract,
    Customer,
    FollowUp,
    Interaction,
    Purchase,
    Referral,
    Reward,
    TierChange,
    TimelineEntry,
    ValueAnswer,
)
from nps.models import Invitation, Response
from programs import content
from programs import queries as program_queries
from programs.models import Enrollment, LetterBatch, Program, Touch
from tests.shared_data import kept_for_scope

# The real demo, seeded once for the module: every test here reads the same one.
DEMO = 300
COUNTED = (
    Customer,
    Purchase,
    Interaction,
    Complaint,
    Contract,
    Referral,
    Reward,
    FollowUp,
    ConsentChange,
    TierChange,
    TimelineEntry,
    Enrollment,
    Touch,
    LetterBatch,
    Invitation,
    Response,
)


def snapshot() -> list[tuple]:
    return list(
        User.objects.order_by("username").values_list(
            "username", "password", "is_staff", "groups__name"
        )
    )


def customer_snapshot() -> tuple:
    counts = {model.__name__: model.objects.count() for model in COUNTED}
    rows = list(
        Customer.objects.order_by("external_id").values_list(
            "external_id",
            "tier__slug",
            "bond_stage",
            "churn_risk",
            "lifetime_value",
            "updated_at",
            "nps_latest",
            "nps_latest_at",
        )
    )
    return counts, rows


@pytest.mark.django_db
def test_it_refuses_to_run_with_debug_off(settings):
    settings.DEBUG = False

    with pytest.raises(CommandError, match="DEBUG off"):
        call_command("seed_demo")

    assert not User.objects.exists()
    assert not Customer.objects.exists()


class Seeded(NamedTuple):
    out: str  # what seed_demo printed
    at: datetime  # when it finished: "now" for what the demo leaves due or waiting


def seed() -> Seeded:
    out = StringIO()
    with override_settings(DEBUG=True):
        call_command("seed_demo", stdout=out)  # the real demo: 300 customers
    return Seeded(out.getvalue(), timezone.now())


@pytest.fixture(scope="module")
def seeded(django_db_setup, django_db_blocker) -> Iterator[Seeded]:
    """The demo seeded once for the tests below (tests/shared_data.py).

    The test above needs an empty database and comes first."""
    with kept_for_scope(django_db_blocker, seed) as demo:
        yield demo


@pytest.mark.django_db
def test_it_creates_an_admin_a_marketer_and_account_managers(seeded):
    out = seeded.out
    assert User.objects.get(username="admin").is_superuser
    assert User.objects.get(username="marketer").groups.filter(name="Marketers").exists()
    assert User.objects.get(username="manager").groups.filter(name="Account managers").exists()
    assert "bonding-marketer" in out  # the printed sign-in works
    assert User.objects.get(username="marketer").check_password("bonding-marketer")
    assert f"Demo customers: {DEMO} created" in out
    # The events' own programs enroll their guests too: the demo program's are the others.
    # (The ask program's promoter was asked after the program's line was printed.)
    programs = Enrollment.objects.filter(program__event__isnull=True, program__asks_promoters=False)
    assert f"Demo program: {programs.count()} enrollments" in out
    assert "Demo events: " in out and "reached Community" in out
    # The demo referral starts from one more answer, after the surveys' line.
    assert "Demo referral: " in out and "signed up with their code and bought" in out
    assert f"Demo surveys: {Invitation.objects.count() - 1} invitations" in out
    assert f"{ValueAnswer.objects.count()} answers about what they value" in out
    assert Touch.objects.filter(status="sent").exists()
    assert Response.objects.exists()


@pytest.mark.django_db
def test_running_it_twice_changes_nothing_the_second_time(seeded, settings, capsys):
    settings.DEBUG = True
    before = snapshot(), customer_snapshot()

    call_command("seed_demo")

    assert (snapshot(), customer_snapshot()) == before
    out = capsys.readouterr().out
    assert "Demo customers: already there" in out
    assert "Demo program: already there" in out
    assert "Demo surveys: already there" in out


@pytest.mark.slow
@pytest.mark.django_db
def test_the_demo_gives_every_page_something_true_to_show(seeded):
    today = timezone.localdate()
    customers = Customer.objects.filter(external_id__startswith="demo-")
    assert customers.count() == DEMO
    assert customers.order_by().values("tier").distinct().count() >= 5
    assert customers.order_by().values("bond_stage").distinct().count() >= 4
    assert customers.order_by().values("relationship").distinct().count() == 4
    assert (
        customers.filter(account__isnull=False).order_by().values("account").distinct().count() >= 5
    )
    assert not customers.filter(value_refreshed_at__isnull=True).exists()
    for customer in customers.exclude(phone=""):
        assert phonenumbers.is_valid_number(phonenumbers.parse(customer.phone)), customer.phone
    # Histories over two years, with the tier moves dated when they happened.
    assert Purchase.objects.filter(purchased_on__lt=today - timedelta(days=600)).exists()
    assert TierChange.objects.dates("changed_at", "month").count() >= 12
    assert TimelineEntry.objects.filter(kind="purchase").count() == Purchase.objects.count()
    assert set(Interaction.objects.values_list("channel", flat=True)) == set(Interaction.Kind)
    assert Interaction.objects.order_by().values("direction", "sentiment").distinct().count() == 6
    assert Complaint.objects.filter(status="open").count() >= 3
    assert (
        Complaint.objects.filter(status="resolved").count()
        > Complaint.objects.filter(status="open").count()
    )
    assert Contract.objects.filter(ends_on__range=(today, today + timedelta(days=90))).exists()
    assert Referral.objects.filter(status="converted", referred_customer__isnull=False).exists()
    assert Reward.objects.exists()
    # Each account manager has customers and a day's work; a few customers have no owner.
    for username in ("manager", "manager2"):
        user = User.objects.get(username=username)
        assert queries.visible_customers(user).count() >= 100
        day = queries.my_day(user)
        assert day.due and day.upcoming and day.at_risk
    assert customers.filter(owner__isnull=True).exists()
    # A year of the eight-step program and of NPS answers, on the funnel and the dashboard.
    check_program_history(seeded.at)
    check_survey_history(seeded.at)


def funnel_totals(program: Program) -> dict[str, int]:
    rows = program_queries.funnel(program)
    names = ("scheduled", "waiting", "sent", "failed", "skipped", "responded")
    return {name: sum(getattr(row, name) for row in rows) for name in names}


def check_program_history(now) -> None:
    """Touches in every state the funnel shows, letters and calls waiting, a year of cohorts."""
    program = Program.objects.get(is_prototype=True)
    # Every figure of the funnel is a true count, and none is zero.
    totals = funnel_totals(program)
    assert all(totals.values()), totals
    assert totals["sent"] > 10 * totals["failed"]
    enrollments = Enrollment.objects.filter(program=program)
    assert enrollments.count() >= 200
    assert enrollments.dates("enrolled_at", "month").count() >= 10
    assert enrollments.filter(status="exited").exclude(exit_reason="").exists()
    # Nothing past due is left for the dispatcher to send at once when the demo starts.
    assert not Touch.objects.filter(status="scheduled", due_at__lte=now).exists()
    assert Touch.objects.filter(status="scheduled", due_at__gt=now).count() >= 100
    sent = Touch.objects.filter(status="sent")
    assert not sent.filter(sent_at__isnull=True).exists()
    email = sent.filter(channel="email").first()
    assert email.message_id == content.message_id_for(email.pk, 1)  # <touch-1-1@localhost>
    assert Touch.objects.filter(
        status="failed", last_error="550 5.1.1 Mailbox unavailable"
    ).exists()
    assert Touch.objects.filter(status="review").count() == 2
    assert Touch.objects.filter(status="skipped", channel__in=["email", "letter"]).exists()
    assert TimelineEntry.objects.filter(kind="touch").count() == sent.count()
    # Letters wait in the open batch; a call waits as the owner's follow-up.
    open_batch = LetterBatch.objects.get(posted_at__isnull=True)
    assert open_batch.touches.filter(status="waiting").count() >= 2
    assert LetterBatch.objects.filter(posted_at__lt=now - timedelta(days=180)).exists()
    calls = Touch.objects.filter(status="waiting", channel="phone")
    assert calls.exists()
    for call in calls:
        follow_up = FollowUp.objects.get(source=f"touch:{call.pk}")
        assert follow_up.done_at is None and follow_up.assignee == call.customer.owner
    # The dashboard shows the same story.
    marketer = User.objects.get(username="marketer")
    widget = dashboard.programs_widget(dashboard.Scope(user=marketer, days=30))
    steps = widget.funnels[0].steps
    assert sum(step["sent"] for step in steps) >= 20
    assert sum(step["responded"] for step in steps) >= 3
    assert sum(widget.due_next_week.values()) >= 5
    assert widget.failed and widget.review == 2


def check_survey_history(now) -> None:
    """A year of answers in all three categories, the loop closed, promoters up the ladder."""
    responses = Response.objects.all()
    assert responses.dates("answered_at", "month").count() >= 6
    assert set(responses.values_list("category", flat=True)) == {"promoter", "passive", "detractor"}
    assert 0.3 <= responses.count() / Invitation.objects.count() <= 0.45
    assert responses.order_by().values("tier_slug").distinct().count() >= 4
    assert responses.order_by().values("owner_id_at_answer").distinct().count() >= 3
    assert responses.filter(program_id__isnull=False).exists()
    assert responses.exclude(why="").order_by().values("why").distinct().count() >= 20
    assert not responses.filter(tier_slug="").exists()
    # The satisfaction step's answers mark its touches answered.
    for response in responses.filter(program_id__isnull=False)[:20]:
        touch = Touch.objects.get(pk=response.invitation.touch_id)
        assert touch.responded_at == response.answered_at
    # Each customer's latest score is their latest answer.
    for customer in Customer.objects.filter(nps_responses__isnull=False).distinct():
        latest = customer.nps_responses.order_by("-answered_at").first()
        assert (customer.nps_latest, customer.nps_latest_at) == (latest.score, latest.answered_at)
    assert TimelineEntry.objects.filter(kind="survey").count() == responses.count()
    # Every detractor got a follow-up due within 48 hours: the recent ones still open.
    detractors = responses.filter(category="detractor")
    waiting = FollowUp.objects.filter(source__startswith="detractor:", done_at__isnull=True)
    assert FollowUp.objects.filter(source__startswith="detractor:").count() == detractors.count()
    assert waiting.count() >= 2
    for follow_up in FollowUp.objects.filter(source__startswith="detractor:"):
        answer = detractors.get(pk=int(follow_up.source.split(":")[1]))
        assert follow_up.due_at == answer.answered_at + timedelta(hours=48)
        assert follow_up.assignee_id == answer.owner_id_at_answer
        if answer.answered_at >= now - timedelta(days=7):
            assert follow_up.done_at is None
    assert FollowUp.objects.filter(source__startswith="detractor:", done_at__isnull=False).exists()
    # Promoters climbed the ladder, dated when they answered.
    customers = Customer.objects.filter(external_id__startswith="demo-")
    assert customers.filter(tier__slug="advocate").count() >= 20
    assert customers.filter(tier__slug="raving-fan").exists()
    promoted = TierChange.objects.filter(rule="advocate.promoter")
    assert promoted.filter(changed_at__lt=now - timedelta(days=30)).exists()
    # The dashboard's NPS is true and not trivial.
    marketer = User.objects.get(username="marketer")
    widget = dashboard.nps_widget(dashboard.Scope(user=marketer, days=365))
    assert (
        widget.current.responses
        == responses.filter(answered_at__gte=now - timedelta(days=365)).count()
    )
    assert len(widget.trend) >= 6
    assert widget.detractors_waiting_count == waiting.count()
