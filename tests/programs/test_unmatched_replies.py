"""E-mail replies from senders no customer has wait on the marketers' list beside SMS's
(/programs/replies/): assigned to a customer they land on the timeline like any reply;
dismissed they leave the list and touch no timeline."""

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from customers.models import FollowUp, Interaction
from programs.models import UnmatchedReply
from tests.programs.test_email_events import email_touch
from tests.programs.test_email_replies import DOMAIN, ann, eager, inbound, post  # noqa: F401

STRANGER = "ann.private@example.org"


@pytest.fixture(autouse=True)
def inbound_settings(settings):
    settings.ANYMAIL = {"WEBHOOK_SECRET": "postmark-hook:5d1b0c4e9a7f"}
    settings.INBOUND_DOMAIN = DOMAIN


@pytest.fixture
def page(marketer):
    client = Client()
    client.force_login(marketer)
    return client


def test_an_email_from_an_unknown_sender_waits_and_is_assigned_to_the_timeline(
    db,
    ann,  # noqa: F811
    eager,  # noqa: F811
    page,
):
    touch = email_touch(ann)
    post(inbound(f"hello@{DOMAIN}", sender=STRANGER))

    reply = UnmatchedReply.objects.get()
    assert (reply.channel, reply.email) == ("email", STRANGER)
    assert reply.subject == "Re: How are we doing?"
    assert reply.body.startswith("Thanks, the new plan suits us.")
    assert "wrote:" not in reply.body  # quoted history trimmed
    listed = page.get("/programs/replies/").content.decode()
    assert f"E-mail: {STRANGER}" in listed
    assert "Re: How are we doing?" in listed

    assigned = page.post(f"/programs/replies/{reply.pk}/assign/", {"customer": str(ann.pk)})

    assert assigned.status_code == 302
    interaction = Interaction.objects.get(customer=ann)
    assert (interaction.channel, interaction.direction) == ("email", "inbound")
    assert interaction.notes.startswith("Thanks, the new plan suits us.")
    assert FollowUp.objects.filter(customer=ann).count() == 1
    touch.refresh_from_db()
    assert touch.responded_at is not None  # threaded to her latest e-mail
    assert STRANGER not in page.get("/programs/replies/").content.decode()


def test_an_auto_reply_from_an_unknown_sender_is_not_listed(db, eager):  # noqa: F811
    post(
        inbound(
            f"hello@{DOMAIN}",
            sender=STRANGER,
            headers=[{"Name": "Auto-Submitted", "Value": "auto-replied"}],
        )
    )

    assert not UnmatchedReply.objects.exists()


def test_a_dismissed_reply_leaves_the_list_and_cannot_be_assigned(
    db,
    ann,  # noqa: F811
    page,
):
    reply = UnmatchedReply.objects.create(
        channel="email", email=STRANGER, subject="Cheap pills", body="Buy now"
    )

    assert page.post(f"/programs/replies/{reply.pk}/dismiss/").status_code == 302

    reply.refresh_from_db()
    assert reply.dismissed_at is not None
    assert "Cheap pills" not in page.get("/programs/replies/").content.decode()
    page.post(f"/programs/replies/{reply.pk}/assign/", {"customer": str(ann.pk)})
    assert not Interaction.objects.exists()
    reply.refresh_from_db()
    assert reply.assigned_at is None


def test_dismissing_is_for_marketers_and_by_post_only(db, manager, page):
    reply = UnmatchedReply.objects.create(phone="+16045550123", body="Hello?")
    other = Client()
    other.force_login(manager)

    assert other.post(f"/programs/replies/{reply.pk}/dismiss/").status_code == 403
    assert page.get(f"/programs/replies/{reply.pk}/dismiss/").status_code == 405
    assert page.post("/programs/replies/999999/dismiss/").status_code == 404
    reply.refresh_from_db()
    assert reply.dismissed_at is None


def test_the_list_of_texts_and_emails_reads_a_fixed_number_of_queries(
    db, page, django_assert_num_queries
):
    now = timezone.now()
    UnmatchedReply.objects.bulk_create(
        [UnmatchedReply(phone=f"+1604555{n:04d}", body=f"Text {n}") for n in range(15)]
        + [
            UnmatchedReply(
                channel="email",
                email=f"someone{n}@example.org",
                subject=f"Subject {n}",
                body=f"Mail {n}",
                received_at=now - timedelta(minutes=n),
            )
            for n in range(15)
        ]
    )
    page.get("/programs/replies/")  # warm the session and the user's groups

    with django_assert_num_queries(4):
        response = page.get("/programs/replies/")

    assert response.content.decode().count('<tr id="reply-') == 30
