"""A reply whose body anymail could not read is listed at /programs/replies/ to be dismissed
only: the page offers no assign control for it and says why, the service refuses to assign it
(a forged POST is a 400 with a form error and changes nothing), and dismissing it records who
did in the admin's log. Replies are made as the provider posts them (Postmark's inbound URL),
worked where they are queued."""

import re

import pytest
from django.contrib.admin.models import CHANGE, LogEntry
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ValidationError
from django.test import Client
from django.utils import timezone

from customers.models import FollowUp, Interaction
from programs import sms_events
from programs.models import ProviderEvent, UnmatchedReply
from tests.programs.test_email_replies import ann as ann  # noqa: F401 (a fixture)
from tests.programs.test_email_replies import eager as eager  # noqa: F401 (a fixture)
from tests.programs.test_email_replies import inbound_settings as inbound_settings  # noqa: F401
from tests.programs.test_inbound_mail import post_raw

URL = "/programs/replies/"
GARBLED = b'{"From": "ann@example.com", "To": '
UNREADABLE_NOTE = "This reply could not be read, so it cannot go on a timeline: dismiss it."


@pytest.fixture
def unreadable(db, eager):  # noqa: F811
    """A body Postmark posted that anymail cannot parse, worked by the (eager) drain task."""
    assert post_raw(GARBLED) == 200
    reply = UnmatchedReply.objects.get()
    assert ProviderEvent.objects.get().outcome.startswith("unreadable: ")
    return reply


@pytest.fixture
def strict(marketer):
    """A marketer's browser as it is: CSRF checked, the token taken from the page's forms."""
    client = Client(enforce_csrf_checks=True)
    client.force_login(marketer)
    return client


def csrf_token(client: Client, url: str = URL) -> str:
    """The token a page's forms carry (every page has one: the sign-out form)."""
    page = client.get(url).content.decode()
    found = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page)
    assert found, f"{url} has a form with a CSRF token"
    return found.group(1)


def test_the_list_shows_no_assign_control_for_it_and_says_why(unreadable, strict):
    readable = UnmatchedReply.objects.create(phone="+16045550123", body="Who is this?")

    page = strict.get(URL).content.decode()

    row = page.split(f'<tr id="reply-{unreadable.pk}">')[1].split("</tr>")[0]
    assert UNREADABLE_NOTE in row
    assert f"/programs/replies/{unreadable.pk}/assign/" not in page
    assert f"/programs/replies/{unreadable.pk}/dismiss/" in row
    assert f"/programs/replies/{readable.pk}/assign/" in page  # a readable one keeps its form


def test_a_forged_assign_is_a_400_with_a_form_error_and_changes_nothing(
    unreadable,
    strict,
    ann,  # noqa: F811
):
    token = csrf_token(strict)

    forged = strict.post(
        f"/programs/replies/{unreadable.pk}/assign/",
        {"customer": str(ann.pk), "csrfmiddlewaretoken": token},
    )

    assert forged.status_code == 400
    assert UNREADABLE_NOTE in forged.content.decode().split('role="alert">')[1]
    unreadable.refresh_from_db()
    assert (unreadable.assigned_to, unreadable.assigned_at, unreadable.dismissed_at) == (
        None,
        None,
        None,
    )
    assert not Interaction.objects.exists()
    assert not FollowUp.objects.exists()


def test_without_the_csrf_token_the_assign_is_refused_before_the_service(
    unreadable,
    strict,
    ann,  # noqa: F811
):
    answer = strict.post(f"/programs/replies/{unreadable.pk}/assign/", {"customer": str(ann.pk)})

    assert answer.status_code == 403
    unreadable.refresh_from_db()
    assert unreadable.assigned_at is None


def test_the_service_refuses_to_assign_it(
    unreadable,
    marketer,
    ann,  # noqa: F811
):
    with pytest.raises(ValidationError, match="could not be read"):
        sms_events.assign_reply(reply=unreadable, customer=ann, by=marketer)

    unreadable.refresh_from_db()
    assert unreadable.assigned_at is None
    assert not Interaction.objects.filter(customer=ann).exists()


def test_dismissing_it_records_who_did(unreadable, strict, marketer):
    token = csrf_token(strict)

    answer = strict.post(
        f"/programs/replies/{unreadable.pk}/dismiss/", {"csrfmiddlewaretoken": token}
    )

    assert answer.status_code == 302
    unreadable.refresh_from_db()
    assert unreadable.dismissed_at is not None
    logged = LogEntry.objects.get()
    assert (logged.user, logged.action_flag, logged.object_id) == (
        marketer,
        CHANGE,
        str(unreadable.pk),
    )
    assert logged.content_type == ContentType.objects.get_for_model(UnmatchedReply)
    assert "dismissed at" in logged.get_change_message()
    assert f'id="reply-{unreadable.pk}"' not in strict.get(URL).content.decode()


def test_a_second_dismissal_logs_nothing_more(unreadable, marketer, admin_user):
    assert sms_events.dismiss_reply(reply=unreadable, by=marketer) is True
    assert sms_events.dismiss_reply(reply=unreadable, by=admin_user) is False

    assert list(LogEntry.objects.values_list("user__username", flat=True)) == [marketer.username]


def test_an_account_manager_cannot_dismiss_it(unreadable, manager):
    client = Client(enforce_csrf_checks=True)
    client.force_login(manager)
    assert client.get(URL).status_code == 403
    token = csrf_token(client, "/my-day/")  # a genuine token: only the role is wrong

    answer = client.post(
        f"/programs/replies/{unreadable.pk}/dismiss/", {"csrfmiddlewaretoken": token}
    )

    assert answer.status_code == 403
    unreadable.refresh_from_db()
    assert unreadable.dismissed_at is None
    assert not LogEntry.objects.exists()


def test_signed_out_nobody_can_dismiss_it(unreadable):
    answer = Client().post(f"/programs/replies/{unreadable.pk}/dismiss/")

    assert answer.status_code == 302 and answer["Location"].startswith("/accounts/login/")
    unreadable.refresh_from_db()
    assert unreadable.dismissed_at is None


def test_the_list_with_unreadable_replies_reads_a_fixed_number_of_queries(
    unreadable, strict, django_assert_num_queries
):
    # More unreadable ones, each with its own provider event, among readable texts.
    now = timezone.now()
    for n in range(10):
        event = ProviderEvent.objects.create(
            provider="postmark", kind="reply", key=f"garbled-{n}", outcome="unreadable: X"
        )
        UnmatchedReply.objects.create(
            channel="email", subject="(unreadable)", body=f"Kept {n}", event=event, received_at=now
        )
    UnmatchedReply.objects.bulk_create(
        [UnmatchedReply(phone=f"+1604555{n:04d}", body=f"Text {n}") for n in range(15)]
    )
    strict.get(URL)  # warm the session and the user's groups

    with django_assert_num_queries(4):
        page = strict.get(URL).content.decode()

    assert page.count('<tr id="reply-') == 26
    assert page.count(UNREADABLE_NOTE) == 11
    assert page.count("/assign/") == 15
