"""One delivery batch holding every step of the eight-step program: what each touch says and
leaves behind is read and written for the batch at once, in a fixed number of queries."""

import re
from datetime import date, timedelta

import pytest
from django.core import mail
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from customers.models import (
    Contract,
    Customer,
    PreferenceToken,
    Referral,
    Reward,
    TimelineEntry,
)
from customers.records import set_consent
from nps.models import Invitation, Survey
from programs.delivery import deliver
from programs.dispatch import dispatch_due
from programs.enrollment import enroll
from programs.models import Enrollment, Program, Touch, UnsubscribeToken

pytestmark = pytest.mark.django_db


@pytest.fixture
def locmem(settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    settings.SITE_URL = "https://bonding.example.com"
    settings.DELIVERY_BATCH_SIZE = 100


def due_touches(count: int) -> list[Touch]:
    """`count` customers in the eight-step program, each with one touch due now: the steps
    in turn (renewal customers have a contract)."""
    if not Survey.objects.filter(is_active=True).exists():
        Survey.objects.create(name="Satisfaction")
    program = Program.objects.get(is_prototype=True)
    start = Customer.objects.count()
    customers = Customer.objects.bulk_create(
        Customer(
            first_name=f"D{start + n}",
            email=f"d{start + n}@example.com",
            consent_email=True,
            timezone="Europe/Paris",
        )
        for n in range(count)
    )
    Contract.objects.bulk_create(
        Contract(
            customer=c,
            title="Plan",
            starts_on=date.today(),
            ends_on=date.today() + timedelta(days=60),
        )
        for c in customers
    )
    enroll(program=program, customers=customers)
    kinds = list(program.steps.order_by("order").values_list("kind", flat=True))
    chosen = []
    for n, customer in enumerate(customers):
        chosen.append(Touch.objects.get(customer=customer, step__kind=kinds[n % len(kinds)]))
    # Only the chosen ones are due (a welcome kit may be due at once).
    Touch.objects.filter(customer__in=customers).update(due_at=timezone.now() + timedelta(30))
    Touch.objects.filter(pk__in=[t.pk for t in chosen]).update(due_at=timezone.now())
    return chosen


def deliver_all() -> dict:
    (batch,) = dispatch_due(batch_size=100)
    return deliver(touch_ids=batch)


def test_a_batch_runs_one_query_per_touch_and_a_fixed_number_more(
    locmem, django_assert_max_num_queries
):
    def queries_to_deliver(count: int) -> int:
        due_touches(count)
        with CaptureQueriesContext(connection) as queries:
            assert deliver_all() == {"sent": count}
        return len(queries)

    # A first batch prepares the statements of this connection and caches the categories.
    queries_to_deliver(8)
    small, big = queries_to_deliver(8), queries_to_deliver(32)

    # One statement per touch (its claim, with the previous touch's "sent"), and six for each
    # gift step's reward, its reward.earned event included (one gift in 8 touches, four in
    # 32); the rest is per batch (the steps, read once; the preference and unsubscribe links,
    # made where missing and read in one statement each; settling the sent touches: a
    # savepoint here, their rows locked and marked in one statement, the enrollments done in
    # one more; the webhook events).
    assert big - small == 24 + 3 * 6
    due_touches(32)
    with django_assert_max_num_queries(32 + 4 * 6 + 35):
        deliver_all()


def test_every_step_says_and_leaves_what_it_should(locmem, settings):
    touches = due_touches(16)
    by_kind = {}
    for touch in touches:
        by_kind.setdefault(touch.step.kind, []).append(touch)

    assert deliver_all() == {"sent": 16}

    bodies = {m.extra_headers["Message-ID"]: m for m in mail.outbox}
    sent = {t.pk: t for t in Touch.objects.filter(pk__in=[t.pk for t in touches])}
    assert {t.status for t in sent.values()} == {"sent"}
    assert len(bodies) == 16
    for touch in touches:
        message = bodies[sent[touch.pk].message_id]
        token = UnsubscribeToken.objects.get(customer=touch.customer, channel="email").token
        assert message.to == [touch.customer.email]
        assert message.extra_headers["List-Unsubscribe"] == (
            f"<https://bonding.example.com/u/{token}/>"
        )
        # Every e-mail's footer links the customer's preference center.
        choose = PreferenceToken.objects.get(customer=touch.customer).token
        assert f"https://bonding.example.com/p/{choose}/" in message.body
    # The survey step's link is its own invitation, naming the touch.
    for touch in by_kind["satisfaction_survey"]:
        invitation = Invitation.objects.get(touch_id=touch.pk)
        assert invitation.customer_id == touch.customer_id
        assert f"/s/{invitation.token}/" in bodies[sent[touch.pk].message_id].body
    # The refer-a-friend step hands out one open code, which the message gives.
    for touch in by_kind["refer_friend"]:
        (code,) = Referral.objects.filter(referrer=touch.customer).values_list("code", flat=True)
        assert re.search(rf"\b{code}\b", bodies[sent[touch.pk].message_id].body)
    # The gift step records its reward; the anniversary schedules next year.
    gifts = {t.customer_id for t in by_kind["gift"]}
    assert set(Reward.objects.values_list("customer_id", flat=True)) == gifts
    for touch in by_kind["anniversary"]:
        assert Touch.objects.filter(customer=touch.customer, step=touch.step, occurrence=2).exists()
    # Each sent touch is on its customer's timeline once.
    lines = TimelineEntry.objects.filter(kind="touch").values_list("source_id", flat=True)
    assert sorted(lines) == sorted(sent)
    assert Enrollment.objects.filter(status="active").count() == 16


def test_a_second_batch_reuses_the_customers_tokens_and_codes(locmem):
    touches = due_touches(8)
    deliver_all()
    refer = next(t for t in touches if t.step.kind == "refer_friend")
    Touch.objects.filter(customer=refer.customer, step__kind="welcome_kit").update(
        due_at=timezone.now(), status="scheduled"
    )

    assert deliver_all() == {"sent": 1}

    assert UnsubscribeToken.objects.filter(customer=refer.customer).count() == 1
    assert PreferenceToken.objects.filter(customer=refer.customer).count() == 1
    assert Referral.objects.filter(referrer=refer.customer).count() == 1


def test_a_survey_touch_that_is_skipped_leaves_no_invitation(locmem):
    touches = due_touches(2)
    survey = next(t for t in touches if t.step.kind == "satisfaction_survey")
    set_consent(customer=survey.customer, channel="email", granted=False, source="test")

    assert deliver_all() == {"sent": 1, "skipped": 1}

    survey.refresh_from_db()
    assert (survey.status, survey.last_error) == ("skipped", "Unsubscribed from every channel.")
    assert not Invitation.objects.filter(customer=survey.customer).exists()
