"""Enrollment: who may join a program, the plan of their touches, writing them in bulk
(through enrollment_writer), re-entry, renewals added later, and leaving."""

import logging
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any, NamedTuple

from django.conf import settings
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.db.models import Min, QuerySet
from django.utils import timezone
from django.utils.translation import gettext, gettext_noop

from customers.models import Contract, Customer
from customers.sayings import english, kept_as_text, ngettext_noop, translated
from programs import holdout, schedule
from programs.enrollment_writer import Writer, copy_text, new_ids
from programs.models import Enrollment, Program, Step, Touch, UnsubscribeToken
from programs.placement import (
    frequency_cap,
    new_touch,
    placement,
    scheduled_times,
    send_window,
    zone_of,
)
from programs.sql import of_customers

logger = logging.getLogger(__name__)


@dataclass
class EnrollOutcome:
    """How many customers were enrolled (treated) and held out (control: this program's
    holdout or the global control group), who was skipped and why; of their touches, how many
    were scheduled, skipped (by reason), held until their date is known (by reason), and held
    for the control group. The reasons are in the language active at enrollment: the outcome is
    a report for whoever enrolled (a page, the API; a task's is English)."""

    enrolled: int = 0
    held_out: int = 0
    touches_held_out: int = 0
    touches: int = 0
    skipped: list[dict[str, Any]] = field(default_factory=list)
    scheduled: int = 0
    touches_skipped: Counter[str] = field(default_factory=Counter)
    touches_held: Counter[str] = field(default_factory=Counter)


# Why a step's touch is not made at enrollment: its date is not known yet (it is made later).
HELD: dict[str, str] = {
    Step.Anchor.CONTRACT_END: gettext_noop("wait for a contract to renew"),
    Step.Anchor.ANNIVERSARY_FIRST_PURCHASE: gettext_noop("wait for a first purchase"),
    Step.Anchor.EVENT: gettext_noop("wait for the event"),
}
WAIT_FOR_THEIR_DATE = gettext_noop("wait for their date")
ALREADY_ENROLLED = gettext_noop("already enrolled")
ENROLLED_LATELY = kept_as_text(
    ngettext_noop("enrolled less than %(count)s day ago", "enrolled less than %(count)s days ago")
)
# A cancelled touch says why its enrollment ended (the reason a text we wrote, or a person's).
ENDED = kept_as_text(gettext_noop("Enrollment ended: %(reason)s"), texts=["reason"])


def eligible(
    program: Program, customer: "Customer | Enrollee", tier_ids: set[int] | None = None
) -> str | None:
    """Why this customer may not join the program, or None when they may."""
    if customer.deleted_at:
        return gettext_noop("deleted")
    if tier_ids and customer.tier_id not in tier_ids:
        return gettext_noop("not in the program's tiers")
    if program.audiences and customer.audience not in program.audiences:
        return gettext_noop("not in the program's audience")
    if program.relationships and customer.relationship not in program.relationships:
        return gettext_noop("not in the program's relationships")
    return None


class Enrollee(NamedTuple):
    """What enrollment reads of a customer, as a plain row."""

    # Building model instances for a hundred thousand customers would cost more than
    # working out their touches.
    id: int
    deleted_at: datetime | None
    tier_id: int | None
    audience: str
    relationship: str
    timezone: str
    first_purchase_on: date | None
    preferred_channel: str
    consent_email: bool
    consent_sms: bool
    consent_phone: bool
    consent_letter: bool
    frequency: str
    email: str
    phone: str
    postal_address: str


ENROLL_FIELDS = Enrollee._fields


def enroll(
    *,
    program: Program,
    customers: Iterable[Customer],
    by: User | None = None,
    now: datetime | None = None,
    batch_size: int = 5000,
) -> EnrollOutcome:
    """Enroll customers in a program and schedule one touch per step, set-based, in batches.

    Each touch's due time comes from the step's anchor and offset, placed in the customer's
    time zone inside the send window and under the frequency cap across all programs. Each
    batch commits on its own. Outside a transaction on PostgreSQL and past one batch, two
    writer threads store batches (with COPY) while the next batch is worked out.
    """
    if not program.is_active:
        raise ValidationError(gettext("This program is paused: activate it before enrolling."))
    now = now or timezone.now()
    if isinstance(customers, QuerySet):
        rows = customers.values_list(*ENROLL_FIELDS, named=True).iterator(chunk_size=batch_size)
    else:
        rows = (Enrollee(*(getattr(c, name) for name in ENROLL_FIELDS)) for c in customers)
    plan = _Plan(list(program.steps.select_related("topic").order_by("order")), now)
    plan.tier_ids = set(program.tiers.values_list("id", flat=True))
    plan.program = program
    outcome = EnrollOutcome()
    may_write_beside = connection.vendor == "postgresql" and not connection.in_atomic_block
    writer = Writer()
    try:
        batch: list[Enrollee] = []
        for row in rows:
            if len(batch) >= batch_size:
                # A row past a full batch: the input is big enough for writer threads (one
                # customer, as a tier change enrolls, needs no threads nor connections).
                writer.background = may_write_beside
                _enroll_batch(program, plan, batch, outcome, writer)
                batch = []
            batch.append(row)
        if batch:
            _enroll_batch(program, plan, batch, outcome, writer)
    finally:
        writer.finish()
    logger.info(
        "program %s: %s enrolled, %s held out, %s touches, %s skipped",
        program.pk,
        outcome.enrolled,
        outcome.held_out,
        outcome.touches,
        len(outcome.skipped),
    )
    return outcome


class _Plan:
    """The touches of one enrollment run, worked out once per kind of customer.

    Customers with the same time zone, anchor dates, channel consents and touches already booked
    get the same due times and channels, and the arithmetic for one step is shared further by
    every kind with the same anchor date and touches booked before it: it runs a few thousand
    times for a hundred thousand customers instead of once per touch.
    """

    def __init__(self, steps: list[Step], now: datetime) -> None:
        self.steps, self.now = steps, now
        self.tier_ids: set[int] = set()
        self.program: Program | None = None
        self.global_share = settings.GLOBAL_CONTROL_SHARE
        self.global_salt = settings.GLOBAL_CONTROL_SALT
        # A kind's touches as a control enrollment gets them, by the id of the treated list.
        self.held_versions: dict[int, list[tuple]] = {}
        self.window, self.cap = send_window(), frequency_cap()
        self.kinds: dict[tuple, list[tuple[int, datetime, str, str, str]]] = {}
        self.zones: dict[str, Any] = {}
        self.customers: dict[tuple, Customer] = {}
        self.placed: dict[tuple, tuple[datetime, str, str, str]] = {}
        # By the id of a kind's list of touches, which self.kinds keeps alive.
        self.lines: dict[int, list[tuple[str, str]]] = {}
        self.held: dict[int, Counter[str]] = {}
        # Each reason once in the active language, however many customers it counts.
        self.words: dict[str, str] = {}

    def said(self, reason: str) -> str:
        """A reason in the language of whoever enrolls."""
        word = self.words.get(reason)
        if word is None:
            word = self.words[reason] = translated(reason)
        return word

    def touches_for(
        self,
        customer: Enrollee,
        contract_ends_on,
        booked: Iterable[datetime],
        chosen: frozenset[int] = frozenset(),
    ) -> list[tuple[int, datetime, str, str, str]]:
        """(step id, due at, channel, status, last error) of each step the customer gets;
        `chosen` the topics of the program's steps the customer chose."""
        key = (
            customer.timezone,
            customer.first_purchase_on,
            customer.preferred_channel,
            customer.consent_email,
            customer.consent_sms,
            customer.consent_phone,
            customer.consent_letter,
            customer.frequency,
            bool(customer.email),
            bool(customer.phone),
            bool(customer.postal_address),
            chosen,
            contract_ends_on,
            tuple(sorted(booked)),
        )
        planned = self.kinds.get(key)
        if planned is None:
            planned = self.kinds[key] = self._work_out(customer, key)
        return planned

    def group_of(self, customer_id: int) -> str:
        """The customer's group in this program: treated, holdout or global control."""
        assert self.program is not None
        return holdout.group_for(
            customer_id,
            program_salt=self.program.holdout_salt,
            program_share=self.program.holdout_share,
            global_salt=self.global_salt,
            global_share=self.global_share,
        )

    def held_version(self, planned: list[tuple]) -> list[tuple]:
        """The same touches for a control enrollment: what would be scheduled is held."""
        held = self.held_versions.get(id(planned))
        if held is None:
            held = self.held_versions[id(planned)] = [
                (step_id, due, channel, Touch.Status.HELD, error)
                if status == Touch.Status.SCHEDULED
                else (step_id, due, channel, status, error)
                for step_id, due, channel, status, error in planned
            ]
            self.held[id(held)] = self.held[id(planned)]
        return held

    def count(self, outcome: EnrollOutcome, planned: list[list[tuple]]) -> None:
        """Add the touches of these customers' kinds to the outcome: scheduled, skipped and
        held, by reason (worked out once per kind)."""
        kinds = {id(touches): touches for touches in planned}
        for kind, customers in Counter(map(id, planned)).items():
            for _, _, _, status, error in kinds[kind]:
                if status == Touch.Status.SCHEDULED:
                    outcome.scheduled += customers
                elif status == Touch.Status.HELD:
                    outcome.touches_held_out += customers
                else:
                    outcome.touches_skipped[self.said(error)] += customers
            for reason, steps in self.held[kind].items():
                outcome.touches_held[self.said(reason)] += steps * customers

    def copy_lines(self, planned: list[tuple]) -> list[tuple[str, str]]:
        """The touches of a kind as COPY lines around the enrollment and customer ids:
        [(between, after)], formatted once per kind."""
        lines = self.lines.get(id(planned))
        if lines is None:
            created = self.now.isoformat()
            lines = self.lines[id(planned)] = [
                (
                    f"\t{step_id}\t",
                    f"\t1\t{due.isoformat()}\t{channel}\t{status}\t0"
                    f"\t{copy_text(error)}\t\\N\t\\N\t\t\\N\t{created}\n",
                )
                for step_id, due, channel, status, error in planned
            ]
        return lines

    def _work_out(self, row: Enrollee, key: tuple) -> list[tuple]:
        *alike, chosen, contract_ends_on, booked = key
        # One stand-in per kind: what the arithmetic reads of a customer is in the key.
        customer = self.customers.get(tuple(alike))
        if customer is None:
            customer = self.customers[tuple(alike)] = Customer(**row._asdict())
        zone = self.zones.get(customer.timezone)
        if zone is None:  # ZoneInfo keeps only a few zones at hand: keep them all here
            zone = self.zones[customer.timezone] = zone_of(customer)
        # Everything placement reads of a customer, so kinds share a placement only when alike.
        channels = (
            customer.preferred_channel,
            customer.frequency,
            *customer.consents().values(),
            bool(customer.email),
            bool(customer.phone),
            bool(customer.postal_address),
        )
        others = list(booked)
        planned: list[tuple] = []
        held: Counter[str] = Counter()
        for step in self.steps:
            anchor = schedule.anchor_date(
                kind=step.anchor,
                enrolled_on=self.now.astimezone(zone).date(),
                contract_ends_on=contract_ends_on,
                first_purchase_on=customer.first_purchase_on,
                occurrence=1,
            )
            if anchor is None:
                held[HELD.get(step.anchor, WAIT_FOR_THEIR_DATE)] += 1
                continue  # e.g. no contract to renew; added when one is signed
            asked = step.topic_id is None or step.topic_id in chosen
            key = (step.pk, anchor, zone.key, channels, asked, tuple(others))
            placed = self.placed.get(key)
            if placed is None:
                placed = self.placed[key] = placement(
                    step, customer, anchor, zone, self.window, self.cap, others, self.now, asked
                )
            if placed[2] == Touch.Status.SCHEDULED:
                others = sorted([*others, placed[0]])
            planned.append((step.pk, *placed))
        self.held[id(planned)] = held
        return planned


def _chosen_topics(steps: list[Step], customer_ids: list[int]) -> dict[int, frozenset[int]]:
    """The topics of these steps each customer chose; no query when no step has a topic."""
    topic_ids = {step.topic_id for step in steps if step.topic_id is not None}
    if not topic_ids:
        return {}
    chosen: dict[int, set[int]] = defaultdict(set)
    for customer_id, topic_id in Customer.topics.through.objects.filter(
        of_customers(customer_ids), topic_id__in=topic_ids
    ).values_list("customer_id", "topic_id"):
        chosen[customer_id].add(topic_id)
    return {customer_id: frozenset(topics) for customer_id, topics in chosen.items()}


def _enroll_batch(
    program: Program, plan: _Plan, batch: list[Enrollee], outcome, writer: "Writer"
) -> None:
    now = plan.now
    ids = [c.id for c in batch]
    previous: dict[int, list[tuple[str, datetime]]] = defaultdict(list)
    for customer_id, status, enrolled_at in Enrollment.objects.filter(
        of_customers(ids), program=program
    ).values_list("customer_id", "status", "enrolled_at"):
        previous[customer_id].append((status, enrolled_at))
    ready = []
    for customer in batch:
        reason = (
            eligible(program, customer, plan.tier_ids)
            # Earlier batches of this run may still be on their way to the database.
            or (ALREADY_ENROLLED if customer.id in writer.enrolled else None)
            or _reentry_refusal(program, previous[customer.id], now)
        )
        if reason:
            outcome.skipped.append({"customer": customer.id, "reason": plan.said(reason)})
        else:
            ready.append(customer)
            writer.enrolled.add(customer.id)
    if not ready:
        return
    ready_ids = [c.id for c in ready]
    contract_ends = dict(
        Contract.objects.filter(
            of_customers(ready_ids),
            ends_on__gte=now.date(),
            renewal_status=Contract.Renewal.PENDING,
        )
        .order_by()
        .values("customer_id")
        .annotate(ends=Min("ends_on"))
        .values_list("customer_id", "ends")
    )
    others = scheduled_times(ready_ids, since=now - plan.cap.period)
    chosen = _chosen_topics(plan.steps, ready_ids)

    groups = [plan.group_of(customer.id) for customer in ready]
    planned = [
        plan.touches_for(
            customer,
            contract_ends.get(customer.id),
            others.get(customer.id, ()),
            chosen.get(customer.id, frozenset()),
        )
        for customer in ready
    ]
    planned = [
        touches if group == Enrollment.Group.TREATED else plan.held_version(touches)
        for touches, group in zip(planned, groups, strict=True)
    ]
    plan.count(outcome, planned)
    if connection.vendor == "postgresql":
        enrollment_ids = new_ids(Enrollment, len(ready))
        lines = [
            f"{enrollment_id}{between}{customer_id}{after}"
            for customer_id, enrollment_id, touches in zip(
                ready_ids, enrollment_ids, planned, strict=True
            )
            for between, after in plan.copy_lines(touches)
        ]
        writer.write(
            program.pk, list(zip(enrollment_ids, ready_ids, groups, strict=True)), lines, now
        )
        outcome.touches += len(lines)
    else:
        with transaction.atomic():
            made = Enrollment.objects.bulk_create(
                [
                    Enrollment(program=program, customer_id=pk, enrolled_at=now, group=group)
                    for pk, group in zip(ready_ids, groups, strict=True)
                ]
            )
            rows = [
                Touch(
                    enrollment_id=e.pk,
                    step_id=step_id,
                    customer_id=e.customer_id,
                    due_at=due,
                    channel=channel,
                    status=status,
                    last_error=error,
                    created_at=now,
                )
                for e, touches in zip(made, planned, strict=True)
                for step_id, due, channel, status, error in touches
            ]
            Touch.objects.bulk_create(rows, batch_size=2000)
        outcome.touches += len(rows)
    held_out = sum(group != Enrollment.Group.TREATED for group in groups)
    outcome.enrolled += len(ready) - held_out
    outcome.held_out += held_out


def _reentry_refusal(
    program: Program, previous: list[tuple[str, datetime]], now: datetime
) -> str | None:
    """Why a customer with these earlier enrollments (status, enrolled at) may not rejoin."""
    if any(status == Enrollment.Status.ACTIVE for status, _ in previous):
        return ALREADY_ENROLLED
    if not previous:
        return None
    if program.reentry == Program.Reentry.ONCE:
        return gettext_noop("was enrolled before (the program allows one enrollment)")
    last = max(enrolled_at for _, enrolled_at in previous)
    if now - last < timedelta(days=program.reentry_days or 0):
        return english(ENROLLED_LATELY, count=program.reentry_days)
    return None


@transaction.atomic
def exit_enrollment(
    *, enrollment: Enrollment, reason: str, completed: bool = False, now: datetime | None = None
) -> bool:
    """End an enrollment (exit with a reason, or completed) and cancel its scheduled touches."""
    ended = Enrollment.objects.filter(pk=enrollment.pk, status=Enrollment.Status.ACTIVE).update(
        status=Enrollment.Status.COMPLETED if completed else Enrollment.Status.EXITED,
        exit_reason=reason[:200],
        ended_at=now or timezone.now(),
    )
    if ended:
        # A control enrollment's held touches end with it, as a treated one's scheduled do.
        Touch.objects.filter(
            enrollment=enrollment, status__in=[Touch.Status.SCHEDULED, Touch.Status.HELD]
        ).update(status=Touch.Status.CANCELLED, last_error=english(ENDED, reason=reason)[:500])
    return bool(ended)


def add_renewal_touches(*, contract: Contract) -> int:
    """A contract was signed: active enrollments with a renewal step schedule it now."""
    customer = contract.customer
    steps = Step.objects.filter(
        anchor=Step.Anchor.CONTRACT_END,
        program__enrollments__customer=customer,
        program__enrollments__status=Enrollment.Status.ACTIVE,
    ).distinct()
    now = timezone.now()
    created = 0
    for step in steps:
        enrollment = Enrollment.objects.get(
            program=step.program, customer=customer, status=Enrollment.Status.ACTIVE
        )
        if Touch.objects.filter(enrollment=enrollment, step=step).exists():
            continue
        others = scheduled_times([customer.pk], since=now - frequency_cap().period)[customer.pk]
        touch = new_touch(
            enrollment,
            step,
            customer,
            1,
            contract.ends_on,
            zone_of(customer),
            send_window(),
            frequency_cap(),
            others,
            now,
        )
        if enrollment.group != Enrollment.Group.TREATED and touch.status == Touch.Status.SCHEDULED:
            touch.status = Touch.Status.HELD
        Touch.objects.bulk_create([touch], ignore_conflicts=True)
        created += 1
    return created


def enroll_on_tier(*, customer: Customer, tier) -> int:
    """Programs that enroll customers reaching this tier take them in."""
    enrolled = 0
    for program in Program.objects.filter(auto_enroll_tier=tier, is_active=True):
        enrolled += enroll(program=program, customers=[customer]).enrolled
    return enrolled


def enroll_on_tier_at_risk(*, customer: Customer) -> int:
    """Programs that take in customers at risk of dropping a tier take this one in."""
    enrolled = 0
    for program in Program.objects.filter(enroll_when_at_risk=True, is_active=True):
        enrolled += enroll(program=program, customers=[customer]).enrolled
    return enrolled


def leave_on_goal(*, customer: Customer, tier) -> int:
    """Enrollments whose goal tier the customer reached end, completed."""
    ended = 0
    for enrollment in Enrollment.objects.filter(
        customer=customer,
        status=Enrollment.Status.ACTIVE,
        program__goal_tier__rank__lte=tier.rank,
    ):
        ended += exit_enrollment(
            enrollment=enrollment, reason=gettext_noop("goal reached"), completed=True
        )
    return ended


def move_merged(*, survivor: Customer, merged: Customer) -> None:
    """A merge moves the merged customer's enrollments and touches to the survivor."""
    Touch.objects.filter(customer=merged).update(customer=survivor)
    Enrollment.objects.filter(customer=merged).update(customer=survivor)
    UnsubscribeToken.objects.filter(customer=merged).delete()
