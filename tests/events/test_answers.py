"""Answers to an invitation: seats with guests, the waitlist and its promotions in order."""

import threading
from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.db import connections
from django.utils import timezone

from customers.models import TimelineEntry
from events import services
from events.models import Invitation
from programs.models import Step, Touch
from tests.factories import CustomerFactory

pytestmark = pytest.mark.django_db


def test_a_yes_takes_a_seat_for_the_customer_and_their_guests(make_event, invite_to):
    event = make_event(capacity=10)
    invitation = invite_to(event, CustomerFactory())

    outcome = services.answer(invitation=invitation, answer="yes", guests=2)

    assert outcome.invitation.seats == 3
    assert outcome.invitation.waitlist_position is None
    assert services.seats_taken(event) == 3
    assert TimelineEntry.objects.filter(
        customer=invitation.customer, title__contains="yes with 2 guests"
    ).exists()


def test_a_yes_when_full_goes_to_the_end_of_the_waitlist(make_event, invite_to):
    event = make_event(capacity=2)
    first, second, third = (invite_to(event, CustomerFactory()) for _ in range(3))
    services.answer(invitation=first, answer="yes", guests=1)

    assert services.answer(invitation=second, answer="yes").invitation.waitlist_position == 1
    assert services.answer(invitation=third, answer="yes").invitation.waitlist_position == 2
    assert services.seats_taken(event) == 2


def test_a_cancelled_seat_goes_to_the_waitlist_in_order_and_they_are_told(make_event, invite_to):
    event = make_event(capacity=2)
    seated = invite_to(event, CustomerFactory(consent_email=True))
    first = invite_to(event, CustomerFactory(consent_email=True))
    second = invite_to(event, CustomerFactory(consent_email=True))
    services.answer(invitation=seated, answer="yes", guests=1)
    services.answer(invitation=first, answer="yes")
    services.answer(invitation=second, answer="yes")

    outcome = services.answer(invitation=seated, answer="no")

    assert [i.pk for i in outcome.promoted] == [first.pk, second.pk]
    first.refresh_from_db()
    assert first.waitlist_position is None and first.promoted_at is not None
    told = Touch.objects.filter(step__kind=Step.Kind.EVENT_SEAT)
    assert sorted(told.values_list("customer_id", flat=True)) == sorted(
        [first.customer_id, second.customer_id]
    )
    assert set(told.values_list("status", flat=True)) == {Touch.Status.SCHEDULED}


def test_the_first_in_line_who_does_not_fit_is_not_jumped(make_event, invite_to):
    event = make_event(capacity=3)
    seated = invite_to(event, CustomerFactory())
    big_party = invite_to(event, CustomerFactory())
    alone = invite_to(event, CustomerFactory())
    services.answer(invitation=seated, answer="yes", guests=1)
    services.answer(invitation=big_party, answer="yes", guests=2)
    services.answer(invitation=alone, answer="yes", guests=1)
    assert big_party.__class__.objects.get(pk=big_party.pk).waitlist_position == 1

    # One seat frees: the party of three in front does not fit, so nobody moves up.
    assert services.answer(invitation=seated, answer="yes", guests=0).promoted == []
    alone.refresh_from_db()
    assert alone.waitlist_position == 2


def test_a_seated_customer_asking_for_more_guests_than_fit_keeps_their_seat(make_event, invite_to):
    event = make_event(capacity=3)
    invitation = invite_to(event, CustomerFactory())
    services.answer(invitation=invitation, answer="yes", guests=1)

    with pytest.raises(ValidationError) as refused:
        services.answer(invitation=invitation, answer="yes", guests=3)

    assert "guests" in refused.value.message_dict
    invitation.refresh_from_db()
    assert (invitation.guests, invitation.waitlist_position) == (1, None)


@pytest.mark.parametrize(
    ("answer", "guests", "field"),
    [("perhaps", 0, "answer"), ("", 0, "answer"), ("yes", -1, "guests"), ("yes", 6, "guests")],
)
def test_bad_answers_are_refused_and_change_nothing(make_event, invite_to, answer, guests, field):
    invitation = invite_to(make_event(), CustomerFactory())

    with pytest.raises(ValidationError) as refused:
        services.answer(invitation=invitation, answer=answer, guests=guests)

    assert field in refused.value.message_dict
    invitation.refresh_from_db()
    assert invitation.answer == "" and invitation.answered_at is None


def test_an_event_that_started_takes_no_answers(make_event, invite_to):
    past = timezone.now() - timedelta(hours=1)
    invitation = invite_to(
        make_event(starts_at=past, ends_at=past + timedelta(hours=3)), CustomerFactory()
    )

    with pytest.raises(ValidationError):
        services.answer(invitation=invitation, answer="yes")


@pytest.mark.django_db(transaction=True)
def test_two_customers_answering_yes_for_the_last_seat_at_once_never_overfill(
    make_event, invite_to
):
    event = make_event(capacity=1)
    invitations = [invite_to(event, CustomerFactory()) for _ in range(2)]
    start = threading.Barrier(2)
    errors = []

    def answer_yes(invitation: Invitation) -> None:
        try:
            start.wait(timeout=10)
            services.answer(invitation=invitation, answer="yes")
        except Exception as error:  # reported below
            errors.append(error)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=answer_yes, args=(i,)) for i in invitations]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert errors == []
    assert services.seats_taken(event) == 1
    positions = sorted(
        Invitation.objects.filter(event=event).values_list("waitlist_position", flat=True),
        key=lambda p: p or 0,
    )
    assert positions == [None, 1]
