"""What customers chose on the preference center, honoured by programs: a step limited to a
topic goes only to those who chose it, and "less often" halves the frequency cap."""

from datetime import timedelta

from django.core import mail
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from customers.models import Customer, Frequency, Topic
from programs.delivery import deliver
from programs.dispatch import dispatch_due
from programs.enrollment import enroll
from programs.models import Program, Step, Touch
from programs.placement import frequency_cap


def test_less_often_halves_the_cap_and_never_below_one(settings):
    settings.FREQUENCY_CAP_TOUCHES, settings.FREQUENCY_CAP_DAYS = 4, 7

    usual, less = frequency_cap(Frequency.USUAL), frequency_cap(Frequency.LESS)

    assert (usual.max_touches, less.max_touches) == (4, 2)
    assert less.period == usual.period == timedelta(days=7)
    settings.FREQUENCY_CAP_TOUCHES = 1
    assert frequency_cap(Frequency.LESS).max_touches == 1


def test_a_step_limited_to_a_topic_skips_those_who_did_not_choose_it(db, settings, make_touches):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    news = Topic.objects.create(name="Product news")
    asked, not_asked = make_touches(2)
    Step.objects.filter(pk=asked.step_id).update(topic=news)
    asked.customer.topics.add(news)
    (batch,) = dispatch_due()

    assert deliver(touch_ids=batch) == {"sent": 1, "skipped": 1}

    assert [message.to for message in mail.outbox] == [[asked.customer.email]]
    not_asked.refresh_from_db()
    assert (not_asked.status, not_asked.last_error) == (
        "skipped",
        "Did not ask for news about “Product news”.",
    )


def test_steps_for_everyone_read_no_topics(db, settings, make_touches):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    make_touches(2)
    (batch,) = dispatch_due()
    Topic.objects.create(name="Product news")

    with CaptureQueriesContext(connection) as captured:
        assert deliver(touch_ids=batch) == {"sent": 2}

    assert not [q for q in captured.captured_queries if "customers_customer_topics" in q["sql"]]


def test_a_less_often_customer_gets_half_the_touches_in_the_period(db, settings):
    settings.FREQUENCY_CAP_TOUCHES, settings.FREQUENCY_CAP_DAYS = 2, 7
    program = Program.objects.create(name="Busy week")
    for order in (1, 2):
        Step.objects.create(program=program, order=order, name=f"Day {order}", offset_days=order)
    usual = Customer.objects.create(first_name="Ann", email="ann@example.com", consent_email=True)
    less = Customer.objects.create(
        first_name="Bob", email="bob@example.com", consent_email=True, frequency=Frequency.LESS
    )
    now = timezone.now()

    enroll(program=program, customers=Customer.objects.order_by("id"), now=now)

    def gap(customer: Customer) -> timedelta:
        first, second = Touch.objects.filter(customer=customer).order_by("due_at")
        return second.due_at - first.due_at

    assert gap(usual) < timedelta(days=2)
    assert gap(less) >= timedelta(days=7)


def test_enrolling_skips_a_topic_step_for_those_who_did_not_choose_it_and_keeps_their_cap(
    db, settings
):
    settings.FREQUENCY_CAP_TOUCHES, settings.FREQUENCY_CAP_DAYS = 1, 7
    news = Topic.objects.create(name="Product news")
    program = Program.objects.create(name="Newsletter")
    Step.objects.create(program=program, order=1, name="News", offset_days=1, topic=news)
    Step.objects.create(program=program, order=2, name="Check-in", offset_days=2)
    asked = Customer.objects.create(first_name="Ann", email="ann@example.com", consent_email=True)
    asked.topics.add(news)
    other = Customer.objects.create(first_name="Bob", email="bob@example.com", consent_email=True)
    now = timezone.now()

    outcome = enroll(program=program, customers=Customer.objects.order_by("id"), now=now)

    assert outcome.touches_skipped == {"Did not ask for news about “Product news”.": 1}
    news_touch = Touch.objects.get(customer=other, step__name="News")
    assert news_touch.status == "skipped"
    # The skipped newsletter leaves Bob's one touch a week to the check-in, a day after it.
    bob = Touch.objects.get(customer=other, step__name="Check-in")
    ann = Touch.objects.get(customer=asked, step__name="Check-in")
    assert bob.status == ann.status == "scheduled"
    assert bob.due_at < ann.due_at
