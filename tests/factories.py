"""Test data for the customers app: plain rows, written straight to the database.

Factories skip the services (no timeline entry, no ladder placement): a test that is about a
service calls the service; a factory only sets the scene.
"""

import json
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import factory
from django.contrib.auth.models import User
from django.utils import timezone

from customers.models import (
    Account,
    Complaint,
    Contract,
    Customer,
    FollowUp,
    Interaction,
    Purchase,
    Referral,
    Tier,
)


def lowest_tier() -> Tier | None:
    """The bottom rung of the ladder (Prospect on a fresh install, seeded by migration 0003)."""
    return Tier.objects.order_by("rank").first()


class UserFactory(factory.django.DjangoModelFactory):
    """A user with no role; the password is "pw"."""

    class Meta:
        model = User

    username = factory.Sequence(lambda n: f"user{n}")
    password = factory.django.Password("pw")


class AccountFactory(factory.django.DjangoModelFactory):
    """A company."""

    class Meta:
        model = Account

    name = factory.Sequence(lambda n: f"Company {n}")


class CustomerFactory(factory.django.DjangoModelFactory):
    """A retail prospect on the lowest tier, with a unique lower-case e-mail address."""

    class Meta:
        model = Customer

    first_name = "Ann"
    last_name = factory.Sequence(lambda n: f"Customer{n}")
    email = factory.Sequence(lambda n: f"customer{n}@example.com")
    tier = factory.LazyFunction(lowest_tier)
    highest_tier = factory.SelfAttribute("tier")
    # Like a customer placed today: the rung is reviewed a year from now.
    tier_review_on = factory.LazyFunction(lambda: timezone.localdate() + timedelta(days=365))


class PurchaseFactory(factory.django.DjangoModelFactory):
    """A purchase of 50.00 EUR today."""

    class Meta:
        model = Purchase

    customer = factory.SubFactory(CustomerFactory)
    amount = Decimal("50.00")
    purchased_on = factory.LazyFunction(timezone.localdate)


class InteractionFactory(factory.django.DjangoModelFactory):
    """An outbound call, just now."""

    class Meta:
        model = Interaction

    customer = factory.SubFactory(CustomerFactory)
    channel = Interaction.Kind.CALL
    direction = Interaction.Direction.OUTBOUND
    summary = "Checked in"
    occurred_at = factory.LazyFunction(timezone.now)


class ComplaintFactory(factory.django.DjangoModelFactory):
    """An open complaint of medium severity, opened just now."""

    class Meta:
        model = Complaint

    customer = factory.SubFactory(CustomerFactory)
    category = "Delivery"
    description = "The parcel arrived late."
    opened_at = factory.LazyFunction(timezone.now)


class ContractFactory(factory.django.DjangoModelFactory):
    """A one-year contract that started today."""

    class Meta:
        model = Contract

    customer = factory.SubFactory(CustomerFactory)
    title = "Service contract"
    starts_on = factory.LazyFunction(timezone.localdate)
    ends_on = factory.LazyAttribute(lambda o: o.starts_on + timedelta(days=365))
    value = Decimal("1200.00")


class ReferralFactory(factory.django.DjangoModelFactory):
    """An invitation a customer sent to a friend, not yet converted."""

    class Meta:
        model = Referral

    referrer = factory.SubFactory(CustomerFactory)
    referred_name = "A friend"
    code = factory.Sequence(lambda n: f"CODE{n:06d}")


class FollowUpFactory(factory.django.DjangoModelFactory):
    """An open follow-up for the customer's owner, due now."""

    class Meta:
        model = FollowUp

    customer = factory.SubFactory(CustomerFactory)
    assignee = factory.SelfAttribute("customer.owner")
    due_at = factory.LazyFunction(timezone.now)
    reason = "Call back"


def person(owner, n=0, **extra):
    """A customer made the way the app makes them (services), e-mail consent given."""
    from customers import records

    data = {
        "first_name": f"P{n}",
        "email": f"p{n}@example.com",
        "owner": owner,
        "consent_email": True,
        **extra,
    }
    return records.create_customer(data=data, by=owner)


def nps_answers(customer, rows: list[dict]) -> list:
    """Responses written straight to the table (one invitation each)."""
    from nps import links, score, services
    from nps.models import Invitation, Response, Survey

    survey = Survey.objects.order_by("id").first()
    now = timezone.now()
    invitations = Invitation.objects.bulk_create(
        Invitation(
            survey=survey,
            customer=customer,
            token=links.new_token(),
            expires_at=now + timedelta(days=30),
            owner_id=row.get("owner_id_at_answer", customer.owner_id),
        )
        for row in rows
    )
    responses = Response.objects.bulk_create(
        Response(
            invitation=invitation,
            survey=survey,
            customer=customer,
            category=score.category(row["score"]),
            **row,
        )
        for invitation, row in zip(invitations, rows, strict=True)
    )
    services.rebuild_tallies()  # written around the services, so counted afresh
    return responses


# How customers who talk about each topic of tests/nps/labelled_verbatims.json score us.
TOPIC_SCORES = {
    "delivery": (2, 4, 6),
    "price": (5, 6, 7),
    "staff": (9, 10, 10),
    "quality": (8, 9, 10),
    "app": (0, 3, 6),
}


def labelled_answers(customer, *, languages=("en", "de"), per_topic=30, first=0, months=6) -> list:
    """Answers saying the labelled verbatims (`per_topic` of each topic from the `first`, each
    answer with its topic as `.topic`), in `why` or in `improve`, scored as TOPIC_SCORES says,
    spread over the last `months` months."""
    labelled = json.loads(
        (Path(__file__).parent / "nps" / "labelled_verbatims.json").read_text(encoding="utf-8")
    )
    now = timezone.now()
    rows, topics = [], []
    for language in languages:
        for topic, lines in labelled[language].items():
            for n, line in enumerate(lines[first : first + per_topic], start=first):
                field = "improve" if n % 4 == 3 else "why"
                rows.append(
                    {
                        "score": TOPIC_SCORES[topic][n % 3],
                        field: line,
                        "answered_at": now - timedelta(days=(n * 7) % (months * 30)),
                    }
                )
                topics.append(topic)
    written = nps_answers(customer, rows)
    for response, topic in zip(written, topics, strict=True):
        response.topic = topic
    return written
