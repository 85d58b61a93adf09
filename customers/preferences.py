"""The preference center's writes: its links, what a customer chooses there, and the topics."""

import secrets
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from customers import records, timeline
from customers.models import (
    Channel,
    Customer,
    Frequency,
    PreferenceToken,
    TimelineEntry,
    Topic,
    ValueAnswer,
    ValueQuestion,
)
from customers.sayings import choice, said

if TYPE_CHECKING:
    from customers.rows import CleanRow

SOURCE = "preference center"
ANSWER_MAX_LENGTH = 2000


def preference_token(*, customer: Customer) -> str:
    """The customer's unguessable preference center token (made once, kept for good)."""
    return preference_tokens(customer_ids={customer.pk})[customer.pk]


# The tokens of many customers in one statement (PostgreSQL): those missing made (a new
# customer's first batch), those there read. A token another worker makes meanwhile is in
# neither half (the statement's snapshot predates it): the caller reads again.
PREFERENCE_TOKENS_AT_ONCE = (
    "WITH wanted AS (SELECT * FROM unnest(%s::bigint[], %s::text[]) AS w(customer_id, token)),"
    " made AS (INSERT INTO customers_preferencetoken (customer_id, token, created_at)"
    " SELECT w.customer_id, w.token, %s FROM wanted w WHERE NOT EXISTS"
    " (SELECT 1 FROM customers_preferencetoken p WHERE p.customer_id = w.customer_id)"
    " ON CONFLICT DO NOTHING RETURNING customer_id, token)"
    " SELECT customer_id, token FROM made UNION ALL"
    " SELECT customer_id, token FROM customers_preferencetoken WHERE customer_id = ANY(%s)"
)


def preference_tokens(*, customer_ids: set[int]) -> dict[int, str]:
    """The preference center tokens of many customers, made in bulk where missing."""
    if customer_ids and connection.vendor == "postgresql":
        ids = list(customer_ids)
        with connection.cursor() as cursor:
            made = [secrets.token_urlsafe(24) for _ in ids]
            cursor.execute(PREFERENCE_TOKENS_AT_ONCE, [ids, made, timezone.now(), ids])
            found = dict(cursor.fetchall())
        if len(found) == len(customer_ids):
            return found

    def read() -> dict[int, str]:
        return dict(
            PreferenceToken.objects.filter(customer_id__in=customer_ids).values_list(
                "customer_id", "token"
            )
        )

    tokens = read()
    missing = customer_ids - tokens.keys()
    if missing:
        # Another worker may make the same customer's token meanwhile: its row wins.
        PreferenceToken.objects.bulk_create(
            [PreferenceToken(customer_id=pk, token=secrets.token_urlsafe(24)) for pk in missing],
            ignore_conflicts=True,
        )
        tokens = read()
    return tokens


def customer_for_token(token: str) -> Customer | None:
    """The live customer a preference link is for, or None (unknown token, deleted customer)."""
    link = (
        PreferenceToken.objects.select_related("customer")
        .filter(token=token, customer__deleted_at__isnull=True)
        .first()
    )
    return link.customer if link else None


@dataclass
class Choices:
    """What a customer chose on the preference center, checked."""

    consents: dict[str, bool]
    preferred_channel: str
    frequency: str
    topic_ids: set[int]
    answers: dict[str, str] = field(default_factory=dict)
    # A language code, "" for the organization's; None leaves the customer's as it is.
    language: str | None = None


def check_choices(
    *,
    consents: dict[str, bool],
    preferred_channel: str,
    frequency: str,
    topic_ids: list[str],
    answers: dict[str, str],
    language: str | None = None,
) -> tuple[Choices | None, dict[str, list[str]]]:
    """The choices, or the errors naming each field that is wrong (nothing is written)."""
    errors: dict[str, list[str]] = {}
    if set(consents) - set(Channel.values):
        errors["consents"] = [_("Choose among the ways we offer.")]
    if preferred_channel not in Channel.values:
        errors["preferred_channel"] = [_("Choose one of the ways we offer.")]
    if language is not None and language not in {"", *(c for c, _n in settings.LANGUAGES)}:
        errors["language"] = [_("Choose one of the languages offered.")]
    if frequency not in Frequency.values:
        errors["frequency"] = [_("Choose “As usual” or “Less often”.")]
    offered = set(Topic.objects.filter(is_active=True).values_list("pk", flat=True))
    chosen: set[int] = set()
    for value in topic_ids:
        if not value.isdigit() or int(value) not in offered:
            errors["topics"] = [_("Choose among the topics offered.")]
            break
        chosen.add(int(value))
    cleaned: dict[str, str] = {}
    for question, text in answers.items():
        if question not in ValueQuestion.values:
            errors.setdefault("answers", []).append(_("Answer only the questions asked."))
            continue
        text = text.strip()
        if len(text) > ANSWER_MAX_LENGTH:
            errors[f"answer_{question}"] = [
                _("Keep it under %(limit)d characters.") % {"limit": ANSWER_MAX_LENGTH}
            ]
        elif text:
            cleaned[question] = text
    if errors:
        return None, errors
    return Choices(consents, preferred_channel, frequency, chosen, cleaned, language), {}


@transaction.atomic
def set_preferences(
    *, customer: Customer, choices: Choices, now: datetime | None = None
) -> list[str]:
    """Store what the customer chose on the preference center; returns what changed, in words.

    Consent goes through the same history as any other (source "preference center"); the
    rest is one timeline line, and each value answer a line of its own.
    """
    now = now or timezone.now()
    consented = [
        f"{'gave' if granted else 'withdrew'} {Channel(channel).label}"
        for channel, granted in choices.consents.items()
        if records.set_consent(
            customer=customer, channel=channel, granted=granted, source=SOURCE, now=now
        )
    ]
    # Consent changes have their own timeline lines; the rest of the choices share one.
    changed: list[str] = []
    fields = []
    if customer.preferred_channel != choices.preferred_channel:
        customer.preferred_channel = choices.preferred_channel
        fields.append("preferred_channel")
        changed.append(f"prefers {Channel(choices.preferred_channel).label}")
    if choices.language is not None and customer.language != choices.language:
        customer.language = choices.language
        fields.append("language")
        changed.append(f"speaks {choices.language or 'the organization’s language'}")
    if customer.frequency != choices.frequency:
        customer.frequency = choices.frequency
        fields.append("frequency")
        changed.append(f"hears from us {Frequency(choices.frequency).label.lower()}")
    before = set(customer.topics.values_list("pk", flat=True))
    if before != choices.topic_ids:
        customer.topics.set(choices.topic_ids)
        names = Topic.objects.filter(pk__in=choices.topic_ids).values_list("name", flat=True)
        changed.append(f"topics: {', '.join(names) or 'none'}")
    if changed:
        # updated_at moves so sync clients pick the change up.
        customer.updated_at = now
        customer.save(update_fields=[*fields, "updated_at"])
        timeline.note_on_timeline(
            customer=customer,
            kind=TimelineEntry.Kind.PREFERENCES,
            title="Changed their preferences on the preference center",
            detail="; ".join(changed),
            occurred_at=now,
        )
    for question, text in choices.answers.items():
        record_value_answer(customer=customer, question=question, text=text, now=now)
    return consented + changed


def record_value_answer(
    *, customer: Customer, question: str, text: str, now: datetime | None = None
) -> ValueAnswer:
    """Keep one answer to a value question and tell of it on the timeline."""
    now = now or timezone.now()
    answer = ValueAnswer(customer=customer, question=question, text=text.strip(), answered_at=now)
    answer.full_clean(exclude=["customer"])
    answer.save()
    timeline.note_on_timeline(
        customer=customer,
        kind=TimelineEntry.Kind.VALUE_ANSWER,
        **said(gettext_noop("%(question)s"), question=choice("value_question", question)),
        detail=answer.text,
        occurred_at=now,
        source_id=answer.pk,
    )
    return answer


@transaction.atomic
def save_topic(*, topic: Topic, name: str, description: str, is_active: bool) -> Topic:
    """Create or change a topic customers may ask to hear about."""
    topic.name, topic.description, topic.is_active = name.strip(), description.strip(), is_active
    if Topic.objects.filter(name__iexact=topic.name).exclude(pk=topic.pk).exists():
        raise ValidationError({"name": _("There is already a topic with this name.")})
    topic.full_clean()
    topic.save()
    return topic


def check_row_topics(rows: dict[int, "CleanRow"], customer_ids: list[int]) -> dict[int, set[int]]:
    """Fail the sync rows that name a topic we do not have (by index, like any field), and
    return the topics the rows' existing customers have chosen so far, in two queries."""
    named = {pk for row in rows.values() if row.topics for pk in row.topics}
    known = set(Topic.objects.filter(pk__in=named).values_list("pk", flat=True)) if named else set()
    for row in rows.values():
        unknown = sorted(set(row.topics or ()) - known)
        if unknown:
            row.fail(
                "topics", _("Unknown topics: %(ids)s.") % {"ids": ", ".join(map(str, unknown))}
            )
    chosen: dict[int, set[int]] = {}
    if any(row.topics is not None for row in rows.values()) and customer_ids:
        through = Customer.topics.through.objects.filter(customer_id__in=customer_ids)
        for customer_id, topic_id in through.values_list("customer_id", "topic_id"):
            chosen.setdefault(customer_id, set()).add(topic_id)
    return chosen


def set_topics_of(*, topics: dict[int, list[int]]) -> None:
    """Make each customer's chosen topics exactly these (sync rows), set-based."""
    if not topics:
        return
    through = Customer.topics.through
    stale = [
        pk
        for pk, customer_id, topic_id in through.objects.filter(customer_id__in=topics).values_list(
            "pk", "customer_id", "topic_id"
        )
        if topic_id not in topics[customer_id]
    ]
    if stale:
        through.objects.filter(pk__in=stale).delete()
    through.objects.bulk_create(
        [
            through(customer_id=customer_id, topic_id=topic_id)
            for customer_id, topic_ids in topics.items()
            for topic_id in topic_ids
        ],
        ignore_conflicts=True,
    )


def note_topics_set(
    *, customers: list[Customer], topics: dict[int, list[int]], source: str, now: datetime
) -> None:
    """One timeline line per customer whose topics a sync or an import changed, naming them
    (the preference center writes its own), in two queries."""
    if not customers:
        return
    names = dict(
        Topic.objects.filter(
            pk__in={pk for chosen in topics.values() for pk in chosen}
        ).values_list("pk", "name")
    )
    timeline.note_many_on_timeline(
        entries=[
            TimelineEntry(
                customer=customer,
                kind=TimelineEntry.Kind.PREFERENCES,
                **said(gettext_noop("Topics set by %(source)s"), source=source),
                detail="topics: "
                + (", ".join(sorted(names[pk] for pk in topics[customer.pk])) or "none"),
                occurred_at=now,
            )
            for customer in customers
        ]
    )
