"""What an account manager logs: interactions, follow-ups, complaints, purchases, referrals
and rewards; each one transaction, each on the timeline (contracts: customers/contracts.py)."""

import secrets
from datetime import date, datetime, time
from decimal import Decimal

from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext, gettext_noop

from customers import announce, rewards, timeline, valuation
from customers.models import (
    Complaint,
    Customer,
    FollowUp,
    Interaction,
    Purchase,
    Referral,
    Reward,
    RewardRule,
    TimelineEntry,
)
from customers.sayings import choice, quoted, said
from customers.signals import follow_up_done

GIVEN_A_CODE = gettext_noop("Was given referral code %(code)s to pass on")


@transaction.atomic
def log_interaction(
    *,
    customer: Customer,
    author: User | None,
    channel: str,
    summary: str,
    direction: str = Interaction.Direction.OUTBOUND,
    notes: str = "",
    sentiment: str = Interaction.Sentiment.NEUTRAL,
    occurred_at: datetime | None = None,
    follow_up_on: date | None = None,
    now: datetime | None = None,
    summary_key: str = "",
    summary_args: dict | None = None,
) -> Interaction:
    """Log a call, meeting, message or event; a follow-up date becomes a follow-up.

    A summary the code writes passes `**said(gettext_noop(...), field="summary", ...)`, to read
    in any language; what a person wrote has no key and reads as written."""
    now = now or timezone.now()
    interaction = Interaction(
        customer=customer,
        author=author,
        channel=channel,
        direction=direction,
        summary=summary[:200],
        summary_key=summary_key,
        summary_args=summary_args or {},
        notes=notes,
        sentiment=sentiment,
        occurred_at=occurred_at or now,
        follow_up_on=follow_up_on,
    )
    log_interactions(interactions=[interaction], now=now)
    valuation.refresh_customer(customer=customer, now=now)
    return interaction


@transaction.atomic
def log_interactions(
    *, interactions: list[Interaction], now: datetime | None = None
) -> list[Interaction]:
    """Log many unsaved interactions at once, each with its timeline line and the follow-up its
    date asks for. The customers are not refreshed: the caller does that (log_interaction at
    once; a replay of history when its ladder rules run)."""
    now = now or timezone.now()
    for interaction in interactions:
        # The customer and author are rows in hand: the database's keys check them, rather
        # than a query for each row.
        interaction.full_clean(exclude=["customer", "author"])
    Interaction.objects.bulk_create(interactions)
    announce.records_logged("interaction.logged", "interaction", interactions, now=now)
    timeline.note_many_on_timeline(
        entries=[
            TimelineEntry(
                customer=interaction.customer,
                kind=TimelineEntry.Kind.INTERACTION,
                **said(
                    gettext_noop("%(channel)s (%(direction)s): %(summary)s"),
                    channel=choice("interaction_channel", interaction.channel),
                    direction=choice("direction", interaction.direction),
                    summary=interaction.quoted_summary,
                ),
                detail=interaction.notes,
                actor=interaction.author,
                occurred_at=interaction.occurred_at,
                source_id=interaction.pk,
            )
            for interaction in interactions
        ]
    )
    follow_ups = [
        _new_follow_up(
            customer=interaction.customer,
            assignee=interaction.customer.owner or interaction.author,
            due_at=_start_of_working_day(interaction.follow_up_on),
            **said(
                gettext_noop("Follow up: %(summary)s"),
                field="reason",
                summary=interaction.quoted_summary,
            ),
            source="interaction",
            now=now,
            rows_in_hand=True,
        )
        for interaction in interactions
        if interaction.follow_up_on
    ]
    FollowUp.objects.bulk_create(follow_ups)
    announce.records_logged("follow_up.created", "follow_up", follow_ups, now=now)
    return interactions


def _purchase_line(purchase: Purchase) -> dict:
    amount = f"{Decimal(purchase.amount):.2f}"
    if purchase.product_category:
        return said(
            gettext_noop("Purchase: %(amount)s %(currency)s — %(category)s"),
            amount=amount,
            currency=purchase.currency,
            category=purchase.product_category,
        )
    return said(
        gettext_noop("Purchase: %(amount)s %(currency)s"),
        amount=amount,
        currency=purchase.currency,
    )


def _start_of_working_day(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, time(9, 0)))


@transaction.atomic
def schedule_follow_up(
    *,
    customer: Customer,
    assignee: User | None,
    due_at: datetime,
    reason: str,
    reason_key: str = "",
    reason_args: dict | None = None,
    source: str = "",
    notes: str = "",
    now: datetime | None = None,
    may_wait_for_owner: bool = False,
) -> FollowUp:
    """Put something on an account manager's to-do list for this customer. With
    `may_wait_for_owner`, a customer without an owner gets it unassigned: it shows on their page,
    and whoever becomes their owner takes it over (`move_open_follow_ups`). A reason the code
    writes passes `**said(gettext_noop(...), field="reason", ...)`, to read in any language."""
    follow_up = _new_follow_up(
        customer=customer,
        assignee=assignee,
        due_at=due_at,
        reason=reason,
        reason_key=reason_key,
        reason_args=reason_args,
        source=source,
        notes=notes,
        now=now or timezone.now(),
        may_wait_for_owner=may_wait_for_owner,
    )
    follow_up.save()
    announce.records_logged("follow_up.created", "follow_up", [follow_up], now=now)
    return follow_up


def _new_follow_up(
    *,
    customer: Customer,
    assignee: User | None,
    due_at: datetime,
    reason: str,
    source: str,
    now: datetime,
    reason_key: str = "",
    reason_args: dict | None = None,
    notes: str = "",
    rows_in_hand: bool = False,
    may_wait_for_owner: bool = False,
) -> FollowUp:
    """A checked, unsaved follow-up asked for at `now`; with `rows_in_hand` the customer and
    assignee are rows already read, whose keys the database checks (no query each)."""
    follow_up = FollowUp(
        customer=customer,
        assignee=assignee,
        due_at=due_at,
        reason=reason[:300],
        reason_key=reason_key,
        reason_args=reason_args or {},
        source=source,
        notes=notes,
        created_at=now,
    )
    unassigned = may_wait_for_owner and assignee is None
    follow_up.full_clean(
        exclude=["customer", "assignee"] if rows_in_hand else ["assignee"] if unassigned else None
    )
    if rows_in_hand and assignee is None:
        blank = FollowUp._meta.get_field("assignee").error_messages["blank"]
        raise ValidationError({"assignee": blank})
    return follow_up


@transaction.atomic
def complete_follow_up(*, follow_up: FollowUp, by: User, now: datetime | None = None) -> bool:
    """Mark a follow-up done; returns False when it already was (clicking twice is harmless)."""
    now = now or timezone.now()
    # An UPDATE skips auto_now: updated_at is set here, as in every write by queryset.
    done = FollowUp.objects.filter(pk=follow_up.pk, done_at__isnull=True).update(
        done_at=now, done_by=by, updated_at=now
    )
    if done:
        follow_up.done_at, follow_up.done_by, follow_up.updated_at = now, by, now
        transaction.on_commit(lambda: follow_up_done.send(sender=FollowUp, follow_up=follow_up))
        timeline.note_on_timeline(
            customer=follow_up.customer,
            kind=TimelineEntry.Kind.FOLLOW_UP,
            **said(
                gettext_noop("Follow-up done: %(reason)s"),
                reason=quoted(
                    key=follow_up.reason_key, args=follow_up.reason_args, text=follow_up.reason
                ),
            ),
            actor=by,
            occurred_at=now,
            source_id=follow_up.pk,
        )
    return bool(done)


def move_open_follow_ups(*, moves: list[tuple[int, int | None, int | None]]) -> int:
    """A customer's new owner takes over the open follow-ups their previous owner had for them
    (moves: customer id, previous owner id, new owner id): else a detractor's call waits with
    someone who no longer sees the customer. One UPDATE per pair of owners; returns how many."""
    by_pair: dict[tuple[int | None, int | None], list[int]] = {}
    for customer_id, previous, new in moves:
        if previous != new:
            by_pair.setdefault((previous, new), []).append(customer_id)
    moved = 0
    for (previous, new), customer_ids in by_pair.items():
        moved += FollowUp.objects.filter(
            customer_id__in=customer_ids, assignee_id=previous, done_at__isnull=True
        ).update(assignee_id=new, updated_at=timezone.now())
    return moved


@transaction.atomic
def open_complaint(
    *,
    customer: Customer,
    by: User | None,
    category: str,
    description: str,
    severity: str = Complaint.Severity.MEDIUM,
    owner: User | None = None,
    opened_at: datetime | None = None,
    now: datetime | None = None,
) -> Complaint:
    """Record a complaint (welcome: it is a chance to win the customer back)."""
    now = now or timezone.now()
    complaint = Complaint(
        customer=customer,
        category=category,
        description=description,
        severity=severity,
        owner=owner or customer.owner or by,
        opened_at=opened_at or now,
    )
    complaint.full_clean()
    complaint.save()
    announce.records_logged("complaint.opened", "complaint", [complaint], now=now)
    timeline.note_on_timeline(
        customer=customer,
        kind=TimelineEntry.Kind.COMPLAINT,
        **said(
            gettext_noop("Complaint (%(severity)s): %(category)s"),
            severity=choice("severity", complaint.severity),
            category=category,
        ),
        detail=description,
        actor=by,
        occurred_at=complaint.opened_at,
        source_id=complaint.pk,
    )
    valuation.refresh_customer(customer=customer, now=now)
    return complaint


@transaction.atomic
def resolve_complaint(
    *, complaint: Complaint, by: User | None, resolution: str, now: datetime | None = None
) -> Complaint:
    """Close a complaint with what was done about it."""
    if not resolution.strip():
        raise ValidationError({"resolution": gettext("Say how the complaint was resolved.")})
    now = now or timezone.now()
    resolved = Complaint.objects.filter(pk=complaint.pk, status=Complaint.Status.OPEN).update(
        status=Complaint.Status.RESOLVED, resolution=resolution, resolved_at=now, updated_at=now
    )
    if not resolved:
        raise ValidationError(gettext("This complaint is already resolved."))
    complaint.status, complaint.resolution, complaint.resolved_at, complaint.updated_at = (
        Complaint.Status.RESOLVED,
        resolution,
        now,
        now,
    )
    announce.records_logged("complaint.resolved", "complaint", [complaint], now=now)
    timeline.note_on_timeline(
        customer=complaint.customer,
        kind=TimelineEntry.Kind.COMPLAINT_RESOLVED,
        **said(gettext_noop("Complaint resolved: %(category)s"), category=complaint.category),
        detail=resolution,
        actor=by,
        occurred_at=now,
        source_id=complaint.pk,
    )
    valuation.refresh_customer(customer=complaint.customer, now=now)
    return complaint


@transaction.atomic
def record_purchase(
    *,
    customer: Customer,
    amount: Decimal,
    purchased_on: date,
    currency: str = "EUR",
    product_category: str = "",
    external_id: str | None = None,
    by: User | None = None,
    now: datetime | None = None,
) -> Purchase:
    """Record a purchase (a negative amount is a refund)."""
    purchase = Purchase(
        customer=customer,
        amount=amount,
        currency=currency,
        purchased_on=purchased_on,
        product_category=product_category,
        external_id=external_id,
    )
    record_purchases(purchases=[purchase], by=by)
    valuation.refresh_customer(customer=customer, now=now)
    return purchase


@transaction.atomic
def record_purchases(
    *, purchases: list[Purchase], by: User | None = None, now: datetime | None = None
) -> list[Purchase]:
    """Record many unsaved purchases at once, each with its timeline line on the morning it was
    made. The customers are not refreshed: the caller does that (record_purchase at once; a
    replay of history when its ladder rules run). A first purchase converts its referral `now`."""
    for purchase in purchases:
        purchase.currency = purchase.currency.upper()
        purchase.external_id = purchase.external_id or None
        purchase.full_clean(exclude=["customer"])  # a row in hand: the database's key checks it
    Purchase.objects.bulk_create(purchases)
    announce.records_logged("purchase.recorded", "purchase", purchases)
    timeline.note_many_on_timeline(
        entries=[
            TimelineEntry(
                customer=purchase.customer,
                kind=TimelineEntry.Kind.PURCHASE,
                **_purchase_line(purchase),
                actor=by,
                occurred_at=_start_of_working_day(purchase.purchased_on),
                source_id=purchase.pk,
            )
            for purchase in purchases
        ]
    )
    convert_first_purchases(
        customer_ids={purchase.customer_id for purchase in purchases if purchase.amount > 0},
        now=now,
    )
    return purchases


def convert_first_purchases(*, customer_ids: set[int], now: datetime | None = None) -> int:
    """Convert the open referrals of these customers once they have bought (a refund is not a
    purchase). Every way purchases arrive calls this; a referral converts once however often."""
    if not customer_ids:
        return 0
    waiting = list(
        Referral.objects.select_related("referrer", "referred_customer")
        .filter(
            referred_customer_id__in=customer_ids,
            status__in=[Referral.Status.INVITED, Referral.Status.SIGNED_UP],
            referred_customer__purchases__amount__gt=0,
        )
        .distinct()
    )
    for referral in waiting:
        convert_referral(referral=referral, referred_customer=referral.referred_customer, now=now)
    return len(waiting)


def new_referral_code() -> str:
    """Short enough to read out on the phone, random enough not to be guessed."""
    return secrets.token_hex(5).upper()


@transaction.atomic
def record_referral(
    *,
    referrer: Customer,
    referred_name: str = "",
    referred_email: str = "",
    by: User | None = None,
    now: datetime | None = None,
) -> Referral:
    """Record that a customer referred someone, with a code to recognise them by."""
    now = now or timezone.now()
    referral = Referral(
        referrer=referrer,
        referred_name=referred_name,
        referred_email=referred_email.strip().lower(),
        code=new_referral_code(),
        created_at=now,
    )
    referral.full_clean()
    referral.save()
    who = referred_name or referred_email
    timeline.note_on_timeline(
        customer=referrer,
        kind=TimelineEntry.Kind.REFERRAL,
        **(
            said(gettext_noop("Referred %(who)s (code %(code)s)"), who=who, code=referral.code)
            if who
            else said(GIVEN_A_CODE, code=referral.code)
        ),
        actor=by,
        occurred_at=now,
        source_id=referral.pk,
    )
    valuation.refresh_customer(customer=referrer, now=now)
    return referral


@transaction.atomic
def hand_out_referral_codes(*, customers: list[Customer]) -> dict[int, str]:
    """Give each customer an open referral code to pass on, at once (a program's refer-a-friend
    touches). An open code is not a referral yet, so the ladder and value stay as they are."""
    referrals = Referral.objects.bulk_create(
        Referral(referrer=customer, code=new_referral_code()) for customer in customers
    )
    timeline.note_many_on_timeline(
        entries=[
            TimelineEntry(
                customer_id=referral.referrer_id,
                kind=TimelineEntry.Kind.REFERRAL,
                **said(GIVEN_A_CODE, code=referral.code),
                source_id=referral.pk,
            )
            for referral in referrals
        ]
    )
    return {referral.referrer_id: referral.code for referral in referrals}


@transaction.atomic
def convert_referral(
    *,
    referral: Referral,
    referred_customer: Customer | None = None,
    now: datetime | None = None,
) -> Referral:
    """The referred person became a customer (a first purchase, or a marketer says so): the
    referrer's advocacy counts. Once: a converted or withdrawn referral stays as it is."""
    now = now or timezone.now()
    referred_customer = referred_customer or referral.referred_customer
    converted = Referral.objects.filter(
        pk=referral.pk, status__in=[Referral.Status.INVITED, Referral.Status.SIGNED_UP]
    ).update(
        status=Referral.Status.CONVERTED,
        converted_at=now,
        referred_customer=referred_customer,
        updated_at=now,
    )
    if converted:
        referral.status, referral.converted_at = Referral.Status.CONVERTED, now
        referral.updated_at = now
        referral.referred_customer = referred_customer
        announce.referral_moved("referral.converted", referral, now=now)
        timeline.note_on_timeline(
            customer=referral.referrer,
            kind=TimelineEntry.Kind.REFERRAL,
            **said(gettext_noop("Referral %(code)s converted"), code=referral.code),
            occurred_at=now,
            source_id=referral.pk,
        )
        # The rules' lines carry the referral as their key: however often this is called, or
        # from however many places at once, each side earns once.
        rewards.apply_rule(
            event=RewardRule.Event.REFERRAL_CONVERTED,
            customer=referral.referrer,
            source=f"referral:{referral.pk}",
            now=now,
        )
        if referred_customer is not None:
            rewards.apply_rule(
                event=RewardRule.Event.FRIEND_FIRST_PURCHASE,
                customer=referred_customer,
                source=f"referral:{referral.pk}",
                now=now,
            )
        valuation.refresh_customer(customer=referral.referrer, now=now)
    return referral


def give_reward(
    *,
    customer: Customer,
    kind: str,
    reason: str,
    reason_key: str = "",
    reason_args: dict | None = None,
    value: Decimal = Decimal(0),
    unit: str = Reward.Unit.MONEY,
    cause: str = "",
    by: User | None = None,
    given_at: datetime | None = None,
    source_key: str = "",
) -> Reward:
    """Record a gift, discount, trial or survey premium given to the customer: an earned line
    of their reward ledger (its value, if any, in money unless said otherwise)."""
    return rewards.grant(
        customer=customer,
        kind=kind,
        reason=reason,
        reason_key=reason_key,
        reason_args=reason_args,
        value=value,
        unit=unit,
        cause=cause,
        by=by,
        given_at=given_at,
        source_key=source_key,
    )
