"""The dashboard's deliverability line: the complaint rate against the 0.3 % mailbox providers
enforce, and the bounce rate, from the e-mail events providers posted (Postmark's webhooks
through the real URL, stored as they arrive)."""

from datetime import timedelta

import pytest
from django.utils import timezone

from nps.models import Invitation, Survey
from programs import queries
from programs.models import Touch
from tests.factories import CustomerFactory
from tests.programs.test_email_events import SECRET, bounce, complaint, email_touch, post


@pytest.fixture(autouse=True)
def webhook_secret(settings):
    settings.ANYMAIL = {"WEBHOOK_SECRET": SECRET}


def sent_emails(count: int) -> list[Touch]:
    return [email_touch(CustomerFactory(consent_email=True)) for _ in range(count)]


def test_the_line_shows_complaint_and_bounce_rates(db, marketer, client):
    touches = sent_emails(4)
    post(complaint(touches[0]))
    post(bounce(touches[1], event=1))
    post(bounce(touches[2], kind="SoftBounce", event=2))
    client.force_login(marketer)

    page = client.get("/").content.decode()

    assert "E-mail deliverability, last 30 days" in page
    assert "Complaint rate: <strong>25.00 %</strong>" in page
    assert "1 spam complaint of 4 e-mails" in page
    assert "At or over 0.3 %" in page
    assert "Bounce rate: <strong>25.00 %</strong>" in page
    assert "1 hard bounce; 1 soft, not counted" in page


def test_below_the_limit_there_is_no_warning(db, marketer, client):
    sent_emails(2)
    client.force_login(marketer)

    page = client.get("/").content.decode()

    assert "Complaint rate: <strong>0.00 %</strong>" in page
    assert "At or over 0.3 %" not in page


def test_without_email_sent_the_line_says_so(db, marketer, client):
    client.force_login(marketer)

    assert "No program e-mail sent in this period." in client.get("/").content.decode()


def test_events_and_sends_outside_the_window_do_not_count(db):
    old = sent_emails(1)[0]
    Touch.objects.filter(pk=old.pk).update(sent_at=timezone.now() - timedelta(days=40))

    figures = queries.deliverability(since=timezone.now() - timedelta(days=30))

    assert (figures.sent, figures.complaint_rate) == (0, None)


def test_the_line_reads_two_queries_whatever_the_numbers(db, django_assert_num_queries):
    touches = sent_emails(3)
    for n, touch in enumerate(touches):
        post(bounce(touch, event=n + 10))
    since = timezone.now() - timedelta(days=30)

    with django_assert_num_queries(2):
        figures = queries.deliverability(since=since)

    assert (figures.sent, figures.hard_bounces) == (3, 3)


def test_survey_emails_sent_on_their_own_count_and_their_bounces_too(db):
    """A survey e-mailed from the survey pages has no touch: it is sent mail all the same (one
    a program step sent is its touch, counted once)."""
    survey = Survey.objects.create(name="Pulse")
    touch = sent_emails(1)[0]
    now = timezone.now()

    def invite(customer, token: str, **fields) -> Invitation:
        return Invitation.objects.create(
            survey=survey,
            customer=customer,
            token=token,
            expires_at=now + timedelta(days=9),
            **fields,
        )

    invite(CustomerFactory(), "a" * 32, emailed_at=now)
    invite(CustomerFactory(), "b" * 32, emailed_at=now - timedelta(days=40))  # before the window
    invite(CustomerFactory(), "c" * 32)  # never e-mailed (an SMS survey, or not yet)
    invite(touch.customer, "d" * 32, emailed_at=now, touch_id=touch.pk)  # the touch's own
    bounced = bounce(None, event=99)  # Postmark's bounce of the survey e-mail: no touch named
    bounced["MessageID"] = "a-survey-message"
    post(bounced)

    figures = queries.deliverability(since=now - timedelta(days=30))

    assert (figures.sent, figures.hard_bounces) == (2, 1)
    assert figures.bounce_rate == 0.5
