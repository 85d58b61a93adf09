"""Timeline lines the code writes read in the reader's language; old rows as they were written."""

from datetime import date
from decimal import Decimal

import pytest
from django.test import Client
from django.utils import timezone, translation

from customers import activity, ladder, placement, records, rewards, timeline
from customers.models import FollowUp, Reward, Tier, TierChange, TimelineEntry
from customers.sayings import choice, said, shown
from events import services as event_services
from events.links import new_token
from events.models import Event, Invitation

pytestmark = pytest.mark.django_db


@pytest.fixture
def ann(manager):
    data = {"first_name": "Ann", "last_name": "Lee", "email": "ann@example.com", "owner": manager}
    return records.create_customer(data=data, by=manager)


def reader(user, language: str) -> Client:
    client = Client(headers={"accept-language": language})
    client.force_login(user)
    return client


def test_a_line_stores_its_message_its_values_and_its_english():
    line = said(
        "Complaint (%(severity)s): %(category)s",
        severity=choice("severity", "high"),
        category="delivery",
    )

    assert line == {
        "title": "Complaint (high): delivery",
        "title_key": "Complaint (%(severity)s): %(category)s",
        "title_args": {"severity": {"choice": "severity", "value": "high"}, "category": "delivery"},
    }


def test_a_line_written_by_a_german_speaker_is_stored_in_english(ann, manager):
    with translation.override("de"):
        activity.log_interaction(customer=ann, author=manager, channel="call", summary="Preise")

    entry = TimelineEntry.objects.get(customer=ann, kind=TimelineEntry.Kind.INTERACTION)
    assert entry.title == "Call (outbound): Preise"
    with translation.override("de"):
        assert entry.shown_title == "Anruf (ausgehend): Preise"
    with translation.override("es"):
        assert entry.shown_title == "Llamada (saliente): Preise"


def test_an_old_row_or_a_message_that_cannot_be_said_shows_its_english():
    with translation.override("de"):
        assert shown(key="", args={}, fallback="Called about prices") == "Called about prices"
        assert shown(key="%(gone)s", args={}, fallback="As written") == "As written"
        # A value of choices no longer known reads as the value itself.
        unknown = {"reason": {"choice": "no-such-choices", "value": "x"}}
        assert shown(key="Done: %(reason)s", args=unknown, fallback="") == "Erledigt: x"


def test_a_follow_up_the_code_asks_for_reads_in_the_readers_language(ann, manager):
    activity.log_interaction(
        customer=ann,
        author=manager,
        channel="call",
        summary="Preise",
        follow_up_on=timezone.localdate(),
    )
    follow_up = FollowUp.objects.get(customer=ann)

    assert follow_up.reason == "Follow up: Preise"
    german = reader(manager, "de")
    page = german.get("/my-day/").content.decode()
    assert "Nachfassen: Preise" in page
    api = german.get(f"/api/v1/follow-ups/?customer={ann.pk}").json()["results"]
    assert api[0]["reason"] == "Nachfassen: Preise"
    english = reader(manager, "en").get(f"/api/v1/follow-ups/?customer={ann.pk}").json()
    assert english["results"][0]["reason"] == "Follow up: Preise"

    activity.complete_follow_up(follow_up=follow_up, by=manager)
    done = TimelineEntry.objects.get(customer=ann, kind=TimelineEntry.Kind.FOLLOW_UP)
    assert done.title == "Follow-up done: Follow up: Preise"
    with translation.override("es"):
        assert done.shown_title == "Seguimiento hecho: Seguimiento: Preise"


def test_the_360_page_shows_each_reader_the_timeline_in_their_language(ann, manager):
    activity.open_complaint(customer=ann, by=manager, category="delivery", description="late")
    timeline.note_on_timeline(customer=ann, kind=TimelineEntry.Kind.NOTE, title="Old English row")

    german = reader(manager, "de").get(f"/customers/{ann.pk}/").content.decode()
    english = reader(manager, "en").get(f"/customers/{ann.pk}/").content.decode()

    assert "Beschwerde (mittel): delivery" in german
    assert "Complaint (medium): delivery" not in german
    assert "Complaint (medium): delivery" in english
    # Names, codes and what staff wrote stay as written; an old row reads as before.
    assert "Old English row" in german
    assert "Old English row" in english


def test_a_reward_the_code_writes_off_reads_in_the_readers_language(ann, manager):
    given = timezone.now() - timezone.timedelta(days=800)
    rewards.grant(customer=ann, value=Decimal(5), reason="Welcome", now=given)
    rewards.expire_due(now=timezone.now())
    expired = Reward.objects.get(customer=ann, movement=Reward.Movement.EXPIRED)

    assert expired.reason == "Expired unspent"
    body = reader(manager, "de").get(f"/api/v1/customers/{ann.pk}/rewards/").json()
    assert [line["reason"] for line in body["results"]] == ["Unverbraucht verfallen", "Welcome"]
    with translation.override("es"):
        assert expired.shown_reason == "Caducado sin usar"


def test_an_answer_with_guests_says_the_plural_of_the_readers_language(ann):
    starts = timezone.now() + timezone.timedelta(days=10)
    event = Event.objects.create(
        name="Sommerfest",
        starts_at=starts,
        ends_at=starts + timezone.timedelta(hours=2),
        place="Alte Mühle",
        status=Event.Status.OPEN,
    )
    invitation = Invitation.objects.create(event=event, customer=ann, token=new_token())

    event_services.answer(invitation=invitation, answer="yes", guests=2)

    line = TimelineEntry.objects.get(customer=ann, source_id=invitation.pk)
    assert line.title == "Answered the invitation to Sommerfest: yes with 2 guests"
    with translation.override("de"):
        assert line.shown_title == "Einladung zu Sommerfest beantwortet: ja mit 2 Gästen"
    event_services.answer(invitation=invitation, answer="yes", guests=1)
    one = TimelineEntry.objects.filter(customer=ann, source_id=invitation.pk).latest("id")
    assert one.title == "Answered the invitation to Sommerfest: yes with 1 guest"
    with translation.override("es"):
        assert one.shown_title == "Respondió a la invitación a Sommerfest: sí con 1 invitado"


def test_a_move_by_the_rules_reads_its_reason_in_the_readers_language(ann, manager):
    for days in (30, 3):
        activity.record_purchase(
            customer=ann,
            amount=Decimal("50.00"),
            purchased_on=timezone.localdate() - timezone.timedelta(days=days),
        )

    change = TierChange.objects.filter(customer=ann).first()
    assert change.reason == "2 purchases in the last 12 months"
    line = TimelineEntry.objects.filter(customer=ann, kind=TimelineEntry.Kind.TIER).first()
    assert line.title == "Moved up to Repeat customer: 2 purchases in the last 12 months"
    german = reader(manager, "de").get(f"/customers/{ann.pk}/").content.decode()
    # The timeline line, and the reason in the ladder's history.
    assert "Aufgestiegen zu Repeat customer: 2 Käufe in den letzten 12 Monaten" in german
    assert "Repeat customer: 2 Käufe in den letzten 12 Monaten</li>" in german
    assert "2 purchases in the last 12 months" not in german
    english = reader(manager, "en").get(f"/customers/{ann.pk}/").content.decode()
    assert "Repeat customer: 2 purchases in the last 12 months</li>" in english
    with translation.override("es"):
        assert change.shown_reason == "2 compras en los últimos 12 meses"
        assert line.shown_title == "Subió a Repeat customer: 2 compras en los últimos 12 meses"


def test_a_held_placement_says_each_of_its_parts_in_the_readers_language():
    facts = ladder.LadderFacts(
        today=date(2026, 6, 1),
        purchase_count=5,
        purchases_12m=4,
        spend_12m=Decimal("1234.50"),
        converted_referrals=1,
        open_complaints=1,
    )

    held = ladder.place_on_ladder(facts=facts)

    assert (held.slug, held.rule) == ("client", "hold.open_complaints")
    assert held.reason == (
        "would be advocate, but 1 open complaint holds them at client "
        "(4 purchases and 1,234.50 spend in the last 12 months)"
    )
    with translation.override("de"):
        assert shown(key=held.reason_key, args=held.reason_args, fallback="") == (
            "wäre Fürsprecher, bleibt aber bei Stammkunde, Grund: 1 offene Beschwerde "
            "(4 Käufe und 1.234,50 Umsatz in den letzten 12 Monaten)"
        )
    with translation.override("es"):
        assert shown(key=held.reason_key, args=held.reason_args, fallback="").startswith(
            "sería defensor, pero sigue en cliente por 1 queja abierta (4 compras y 1"
        )


def test_a_bond_move_and_a_reason_someone_wrote_read_as_they_should(ann, manager):
    activity.record_referral(referrer=ann, referred_name="Bo")
    placement.set_tier(
        customer=ann, tier=Tier.objects.get(slug="client"), by=manager, reason="Rahmenvertrag"
    )

    bond = TimelineEntry.objects.filter(customer=ann, kind=TimelineEntry.Kind.BOND).first()
    assert bond.title == "Bond: Advocacy (referred 1 person)"
    moved = TimelineEntry.objects.filter(customer=ann, kind=TimelineEntry.Kind.TIER).first()
    with translation.override("de"):
        assert bond.shown_title == "Bindung: Fürsprache (hat 1 Person empfohlen)"
        # What a person wrote stays as written, inside a translated line.
        assert moved.shown_title == "Aufgestiegen zu Client: Rahmenvertrag"
        assert TierChange.objects.filter(customer=ann).first().shown_reason == "Rahmenvertrag"
