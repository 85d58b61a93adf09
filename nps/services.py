"""Every write of the NPS app: inviting customers, and recording what they answer."""

import copy
import dataclasses
import logging
import zoneinfo
from collections import Counter
from collections.abc import Iterable, Mapping
from datetime import date, datetime, timedelta
from functools import partial
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.db.models import CharField, Count, DateField, Exists, F, Max, OuterRef, Value
from django.db.models.functions import Cast, Coalesce, TruncDate, TruncMonth
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from customers import activity, rewards, timeline, valuation
from customers.models import Channel, Customer, Reward, RewardRule, TimelineEntry
from customers.sayings import choice, english, kept_as_text, said
from nps import links, mail, score, tasks
from nps.models import (
    DayTally,
    FatigueSkip,
    GroupTally,
    Invitation,
    InvitationTally,
    Response,
    Survey,
)
from nps.signals import response_recorded
from webhooks import outbox

logger = logging.getLogger(__name__)

MAX_TEXT = 2000

# Why a customer is not invited, in English (the API's and FatigueSkip's); the invite report
# says it in the marketer's language (customers/sayings.translated).
ANSWERED_ON = kept_as_text(gettext_noop("answered on %(on)s (fatigue window)"))
INVITED_ON = kept_as_text(gettext_noop("invited on %(on)s (fatigue window)"))
PREFERS: dict[str, str] = {
    Channel.SMS: gettext_noop("prefers SMS (invitations go by e-mail)"),
    Channel.PHONE: gettext_noop("prefers phone call (invitations go by e-mail)"),
    Channel.LETTER: gettext_noop("prefers letter (invitations go by e-mail)"),
}


@dataclasses.dataclass
class InviteOutcome:
    """Who was invited, who was skipped and why."""

    invited: list[Invitation] = dataclasses.field(default_factory=list)
    skipped: list[dict[str, Any]] = dataclasses.field(default_factory=list)


@transaction.atomic
def invite(
    *,
    survey: Survey,
    customers: Iterable[Customer],
    channel: str | None = None,
    touch_ids: Mapping[int, int] | None = None,
    by_email: bool = False,
    now: datetime | None = None,
) -> InviteOutcome:
    """Invite customers to a survey, skipping anyone asked or who answered within the fatigue
    window (each skip recorded with its reason). Set-based: a fixed number of queries.
    `touch_ids` names, by customer id, the program touch each invitation goes out with.
    `by_email`: the invitation is e-mailed (the survey pages, the API), so a customer e-mail
    does not reach is skipped with the reason instead of getting an invitation nobody sends."""
    if not survey.is_active:
        raise ValidationError(_("This survey is paused."))
    now = now or timezone.now()
    customers = list(customers)
    window_start = now - timedelta(days=settings.SURVEY_FATIGUE_DAYS)
    ids = [c.pk for c in customers]
    invited_at = dict(
        Invitation.objects.filter(customer_id__in=ids, sent_at__gte=window_start)
        .order_by()
        .values("customer_id")
        .annotate(last=Max("sent_at"))
        .values_list("customer_id", "last")
    )
    answered_at = dict(
        Response.objects.filter(customer_id__in=ids, answered_at__gte=window_start)
        .order_by()
        .values("customer_id")
        .annotate(last=Max("answered_at"))
        .values_list("customer_id", "last")
    )
    outcome = InviteOutcome()
    skips = []
    for customer in customers:
        unreachable = _not_by_email(customer) if by_email else None
        if unreachable and not customer.deleted_at:
            # Not a fatigue skip: nothing is recorded against the customer.
            outcome.skipped.append({"customer": customer.pk, "reason": unreachable})
            continue
        reason = None
        if customer.deleted_at:
            reason = gettext_noop("deleted")
        elif customer.pk in answered_at:
            reason = english(ANSWERED_ON, on=f"{answered_at[customer.pk]:%Y-%m-%d}")
        elif customer.pk in invited_at:
            reason = english(INVITED_ON, on=f"{invited_at[customer.pk]:%Y-%m-%d}")
        if reason:
            outcome.skipped.append({"customer": customer.pk, "reason": reason})
            skips.append(
                FatigueSkip(survey=survey, customer=customer, reason=str(reason), skipped_at=now)
            )
            continue
        outcome.invited.append(
            Invitation(
                survey=survey,
                customer=customer,
                channel=channel or customer.preferred_channel,
                token=links.new_token(),
                sent_at=now,
                expires_at=now + timedelta(days=survey.valid_days),
                touch_id=(touch_ids or {}).get(customer.pk),
                audience=customer.audience,
                owner_id=customer.owner_id,
            )
        )
    Invitation.objects.bulk_create(outcome.invited)
    FatigueSkip.objects.bulk_create(skips)
    # Last: the day's invitation tally row is shared by every invitation of the day.
    tallies = Tallies()
    for invitation in outcome.invited:
        tallies.invitation(invitation, invited=1)
    tallies.save()
    return outcome


def _not_by_email(customer: Customer) -> str | None:
    """Why an e-mailed invitation would not reach the customer, or None when it would."""
    if customer.preferred_channel != Channel.EMAIL:
        return PREFERS.get(
            customer.preferred_channel,
            f"prefers {customer.preferred_channel} (invitations go by e-mail)",
        )
    if not customer.consent_email:
        return gettext_noop("no consent to e-mail")
    if not customer.email:
        return gettext_noop("no e-mail address")
    return None


def queue_emails(invitations: list[Invitation]) -> int:
    """After commit, queue the e-mails of the invitations that go by e-mail, in batches;
    returns how many will be e-mailed."""
    ids = [invitation.pk for invitation in invitations if mail.would_email(invitation)]
    for start in range(0, len(ids), mail.EMAIL_BATCH):
        batch = ids[start : start + mail.EMAIL_BATCH]
        transaction.on_commit(partial(tasks.send_invitations_task.delay, batch))
    return len(ids)


def invitation_for(token: str) -> Invitation | None:
    """The invitation a public link names, or None."""
    if not token or len(token) > 64:
        return None
    return (
        Invitation.objects.select_related("survey", "customer__owner", "customer__tier")
        .filter(token=token)
        .first()
    )


def answered_line(score_value: int, kind: str) -> dict:
    """The timeline line of a survey answer (its fields)."""
    return said(
        gettext_noop("Answered the survey: %(score)s (%(category)s)"),
        score=score_value,
        category=choice("nps_category", kind),
    )


@transaction.atomic
def record_response(
    *,
    invitation: Invitation,
    score_value: int,
    why: str = "",
    improve: str = "",
    preferred_channel: str = "",
    only_if_unanswered: bool = False,
) -> Response:
    """Store an answer (answering again while the invitation is open updates it), then close
    the loop: latest score on the customer, timeline, premium, preferred channel, the ladder,
    and the response_recorded signal (programs mark the touch and ask promoters to refer).
    With `only_if_unanswered` (a score link opened), an existing answer is returned unchanged."""
    errors = {}
    if not isinstance(score_value, int) or not 0 <= score_value <= 10:
        errors["score"] = [_("Choose a score from 0 to 10.")]
    for name, text in (("why", why), ("improve", improve)):
        if len(text) > MAX_TEXT:
            errors[name] = [_("Please keep it under %(limit)d characters.") % {"limit": MAX_TEXT}]
    if preferred_channel and preferred_channel not in Channel.values:
        errors["preferred_channel"] = [_("Choose one of the offered channels.")]
    if errors:
        raise ValidationError(errors)
    if not invitation.is_open:
        raise ValidationError(_("This survey has closed."))
    customer = Customer.objects.select_for_update().get(pk=invitation.customer_id)
    now = timezone.now()
    kind = score.category(score_value)
    existing = Response.objects.select_for_update().filter(invitation=invitation).first()
    if existing is not None and only_if_unanswered:
        # Checked under the customer's lock: two scanners opening two score links at once
        # cannot both write, and neither rewrites what the customer answered.
        return existing
    created = existing is None
    before = copy.copy(existing)
    response = existing or Response(
        invitation=invitation, survey=invitation.survey, customer=customer, answered_at=now
    )
    response.score, response.category = score_value, kind
    response.why, response.improve = why.strip(), improve.strip()
    response.preferred_channel = preferred_channel
    response.tier_slug = customer.tier.slug if customer.tier else ""
    response.owner_id_at_answer = customer.owner_id
    response.audience = customer.audience
    response.program_id = _program_of(invitation)
    response.updated_at = now
    response.save()
    Customer.objects.filter(pk=customer.pk).update(nps_latest=score_value, nps_latest_at=now)
    customer.nps_latest, customer.nps_latest_at = score_value, now
    if preferred_channel and preferred_channel != customer.preferred_channel:
        Customer.objects.filter(pk=customer.pk).update(preferred_channel=preferred_channel)
    if created:
        timeline.note_on_timeline(
            customer=customer,
            kind=TimelineEntry.Kind.SURVEY,
            **answered_line(score_value, kind),
            detail="\n".join(t for t in (response.why, response.improve) if t),
            occurred_at=now,
            source_id=response.pk,
        )
        if invitation.survey.premium:
            activity.give_reward(
                customer=customer,
                kind=Reward.Kind.PREMIUM,
                cause=Reward.Cause.PREMIUM,
                **premium_reason(invitation.survey),
                given_at=now,
                source_key=f"premium:{response.pk}",
            )
        rewards.apply_rule(
            event=RewardRule.Event.SURVEY_ANSWERED,
            customer=customer,
            source=f"response:{response.pk}",
            now=now,
        )
    else:
        TimelineEntry.objects.filter(
            customer=customer, kind=TimelineEntry.Kind.SURVEY, source_id=response.pk
        ).update(
            **answered_line(score_value, kind),
            detail="\n".join(t for t in (response.why, response.improve) if t),
        )
    if kind == "detractor":
        _close_the_loop_for_detractor(response, customer, now)
    valuation.refresh_customer(customer=customer)
    outbox.publish(
        "survey.answered",
        {
            "id": response.pk,
            "survey": response.survey_id,
            "customer": customer.pk,
            "score": response.score,
            "category": response.category,
            "why": response.why,
            "improve": response.improve,
            "preferred_channel": response.preferred_channel,
            "tier": response.tier_slug,
            "audience": response.audience,
            "program": response.program_id,
            "answered_at": response.answered_at,
            "updated_at": response.updated_at,
        },
        customer_id=customer.pk,
        now=now,
    )
    # The tallies move with the answer, in the same transaction: answering again moves the
    # count from the old score (and groups) to the new. Last, just before the commit: every
    # answer of the day shares these rows, and their locks are held until it.
    tallies = Tallies()
    if before is not None:
        tallies.answer(before, -1)
    tallies.answer(response, 1)
    if created:
        tallies.invitation(invitation, answered=1)
    tallies.save()
    transaction.on_commit(
        lambda: response_recorded.send(sender=Response, response=response, created=created)
    )
    return response


def _program_of(invitation: Invitation) -> int | None:
    """The program whose touch sent the invitation (stored as ids: programs sit above nps)."""
    if not invitation.touch_id:
        return None
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT s.program_id FROM programs_touch t JOIN programs_step s ON s.id = t.step_id "
            "WHERE t.id = %s",
            [invitation.touch_id],
        )
        row = cursor.fetchone()
    return row[0] if row else None


def premium_reason(survey: Survey) -> dict:
    """The reward line's reason of a survey's premium (its fields), the English cut to what a
    reward's reason holds (a premium may be as long as that on its own)."""
    fields = said(
        gettext_noop("Premium for answering: %(premium)s"), field="reason", premium=survey.premium
    )
    fields["reason"] = fields["reason"][: Reward._meta.get_field("reason").max_length]
    return fields


def detractor_reason(score_value: int) -> dict:
    """The reason of a detractor's follow-up (its fields)."""
    return said(
        gettext_noop("Detractor: scored %(score)s. Call and listen."),
        field="reason",
        score=score_value,
    )


def _close_the_loop_for_detractor(response: Response, customer: Customer, now: datetime) -> None:
    """A detractor's owner gets a follow-up due within 48 hours and an e-mail with the words."""
    source = f"detractor:{response.pk}"
    if customer.follow_ups.filter(source=source).exists():
        return  # answering again does not pile up follow-ups
    activity.schedule_follow_up(
        customer=customer,
        assignee=customer.owner,
        due_at=now + timedelta(hours=mail.DETRACTOR_FOLLOW_UP_HOURS),
        **detractor_reason(response.score),
        source=source,
        notes="\n".join(t for t in (response.why, response.improve) if t),
        now=now,
        # A customer nobody owns yet still gets the call: their next owner takes it over.
        may_wait_for_owner=True,
    )
    if customer.owner and customer.owner.email:
        transaction.on_commit(lambda: tasks.tell_owner_about_detractor_task.delay(response.pk))


def move_merged(*, survivor: Customer, merged: Customer) -> None:
    """A merge moves the merged customer's invitations and answers to the survivor."""
    Invitation.objects.filter(customer=merged).update(customer=survivor)
    Response.objects.filter(customer=merged).update(customer=survivor)


def forget_tallied(*, customer_id: int) -> None:
    """Take a customer's answers and invitations out of the tallies, before deleting the
    customer deletes them."""
    tallies = Tallies()
    for response in Response.objects.filter(customer_id=customer_id).only(*ANSWER_FIELDS):
        tallies.answer(response, -1)
    answered = Response.objects.filter(invitation=OuterRef("pk"))
    invitations = (
        Invitation.objects.filter(customer_id=customer_id)
        .annotate(was_answered=Exists(answered))
        .only("survey_id", "sent_at", "audience")
    )
    for invitation in invitations:
        tallies.invitation(invitation, invited=-1, answered=-int(invitation.was_answered))
    tallies.save()


# What an answer is counted by in the tallies.
ANSWER_FIELDS = (
    "survey_id",
    "score",
    "answered_at",
    "tier_slug",
    "audience",
    "program_id",
    "owner_id_at_answer",
)
TALLY_GROUPINGS = ("tier", "audience", "program", "owner")


def organization_zone() -> zoneinfo.ZoneInfo:
    """The zone whose days and months the NPS statistics count in."""
    return zoneinfo.ZoneInfo(settings.TIME_ZONE)


def tally_day(moment: datetime) -> date:
    """The organization's calendar day of a moment."""
    return moment.astimezone(organization_zone()).date()


def group_keys(response: Response) -> dict[str, str]:
    """The answer's group in each grouping, as stored in GroupTally.key ("" for none)."""
    return {
        "tier": response.tier_slug or "",
        "audience": response.audience or "",
        "program": "" if response.program_id is None else str(response.program_id),
        "owner": "" if response.owner_id_at_answer is None else str(response.owner_id_at_answer),
    }


class Tallies:
    """Changes to the tallies gathered in memory, then written by one upsert per table in a
    fixed order (so two transactions lock the same rows in the same order)."""

    def __init__(self) -> None:
        self.days: Counter = Counter()
        self.groups: Counter = Counter()
        self.invited: Counter = Counter()
        self.answered: Counter = Counter()

    def answer(self, response: Response, sign: int) -> None:
        day = tally_day(response.answered_at)
        self.days[(day, response.survey_id, response.audience or "", response.score)] += sign
        for grouping, key in group_keys(response).items():
            self.groups[(grouping, day.replace(day=1), key, response.score)] += sign

    def invitation(self, invitation: Invitation, *, invited: int = 0, answered: int = 0) -> None:
        key = (tally_day(invitation.sent_at), invitation.survey_id, invitation.audience or "")
        self.invited[key] += invited
        self.answered[key] += answered

    def save(self) -> None:
        _add_up(
            DayTally,
            ["day", "survey_id", "audience", "score"],
            ["answers"],
            [(*key, n) for key, n in self.days.items() if n],
        )
        _add_up(
            GroupTally,
            ["grouping", "month", "key", "score"],
            ["answers"],
            [(*key, n) for key, n in self.groups.items() if n],
        )
        keys = self.invited.keys() | self.answered.keys()
        _add_up(
            InvitationTally,
            ["day", "survey_id", "audience"],
            ["invited", "answered"],
            [
                (*key, self.invited[key], self.answered[key])
                for key in keys
                if self.invited[key] or self.answered[key]
            ],
        )


def _add_up(model, keys: list[str], counts: list[str], rows: list[tuple]) -> None:
    """INSERT ... ON CONFLICT DO UPDATE adding the counts (PostgreSQL and SQLite alike)."""
    if not rows:
        return
    table = model._meta.db_table
    columns = [*keys, *counts]
    rows = sorted(
        (tuple(v.isoformat() if isinstance(v, date) else v for v in row) for row in rows),
        key=lambda row: tuple(map(str, row)),
    )
    add = ", ".join(f"{c} = {table}.{c} + excluded.{c}" for c in counts)
    one = f"({', '.join(['%s'] * len(columns))})"
    with connection.cursor() as cursor:
        for start in range(0, len(rows), 500):
            batch = rows[start : start + 500]
            values = ", ".join([one] * len(batch))
            cursor.execute(
                f"INSERT INTO {table} ({', '.join(columns)}) VALUES {values}"  # noqa: S608 - names are ours
                f" ON CONFLICT ({', '.join(keys)}) DO UPDATE SET {add}",
                [value for row in batch for value in row],
            )


@transaction.atomic
def rebuild_tallies() -> dict[str, int]:
    """Count every answer and invitation into the tallies afresh (after a bulk load, or a change
    of TIME_ZONE). Returns the rows written per table."""
    response, invitation = Response, Invitation
    tallies: dict[str, type[DayTally] | type[GroupTally] | type[InvitationTally]] = {
        "DayTally": DayTally,
        "GroupTally": GroupTally,
        "InvitationTally": InvitationTally,
    }
    if connection.vendor == "postgresql":
        # Answers arriving meanwhile wait rather than being counted twice or lost.
        connection.cursor().execute("LOCK TABLE nps_response, nps_invitation IN SHARE MODE")
    for model in tallies.values():
        model.objects.all().delete()
    zone = organization_zone()
    answers = response.objects.order_by()
    # Each row is grouped and counted under the names of the tally's own fields.
    days = (
        answers.annotate(day=TruncDate("answered_at", tzinfo=zone))
        .values("day", "survey_id", "audience", "score")
        .annotate(answers=Count("id"))
    )
    DayTally.objects.bulk_create((DayTally(**row) for row in days.iterator()), batch_size=2000)
    month = TruncMonth("answered_at", tzinfo=zone, output_field=DateField())
    group_rows = []
    for grouping, key in (
        ("tier", F("tier_slug")),
        ("audience", F("audience")),
        ("program", Coalesce(Cast("program_id", CharField()), Value(""))),
        ("owner", Coalesce(Cast("owner_id_at_answer", CharField()), Value(""))),
    ):
        rows = (
            answers.annotate(month=month, key=key)
            .values("month", "key", "score")
            .annotate(answers=Count("id"))
        )
        group_rows += [
            GroupTally(grouping=grouping, **{**row, "key": row["key"] or ""})
            for row in rows.iterator()
        ]
    GroupTally.objects.bulk_create(group_rows, batch_size=2000)
    sent = (
        invitation.objects.order_by()
        .annotate(day=TruncDate("sent_at", tzinfo=zone))
        .values("day", "survey_id", "audience")
        .annotate(invited=Count("id"), answered=Count("response"))
    )
    InvitationTally.objects.bulk_create(
        (InvitationTally(**row) for row in sent.iterator()), batch_size=2000
    )
    return {name: model.objects.count() for name, model in tallies.items()}
