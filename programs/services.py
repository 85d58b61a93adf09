"""Every write of the programs app: enroll, dispatch, deliver, sweep, exit, unsubscribe."""

import io
import itertools
import logging
import random
import re
import secrets
import weakref
from collections import Counter, defaultdict
from collections.abc import Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from types import ModuleType
from typing import Any, NamedTuple

from django.conf import settings
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.db import InterfaceError, OperationalError, connection, transaction
from django.db.models import F, Lookup, Min, Q, QuerySet
from django.utils import timezone

from customers import services as customer_services
from customers.models import Channel, Contract, Customer, FollowUp, TimelineEntry
from programs import content, schedule
from programs.channels import PermanentError, TransientError, UncertainError
from programs.channels import email as email_channel
from programs.channels import letter as letter_channel
from programs.channels import phone as phone_channel
from programs.channels import sms as sms_channel
from programs.models import Enrollment, LetterBatch, Program, Step, Touch, UnsubscribeToken

logger = logging.getLogger(__name__)

CHANNELS: dict[str, ModuleType] = {
    Channel.EMAIL: email_channel,
    Channel.SMS: sms_channel,
    Channel.LETTER: letter_channel,
    Channel.PHONE: phone_channel,
}
# Touches in these states still count against the frequency cap.
COUNTED = [
    Touch.Status.SCHEDULED, Touch.Status.CLAIMED, Touch.Status.SENDING, Touch.Status.WAITING,
    Touch.Status.SENT, Touch.Status.REVIEW,
]  # fmt: skip


# A touch in one of these states will not move on by itself.
FINAL = [
    Touch.Status.SENT, Touch.Status.FAILED, Touch.Status.SKIPPED, Touch.Status.CANCELLED,
    Touch.Status.REVIEW,
]  # fmt: skip


def send_window() -> schedule.SendWindow:
    return schedule.SendWindow(
        start=time.fromisoformat(settings.SEND_WINDOW_START),
        end=time.fromisoformat(settings.SEND_WINDOW_END),
    )


def frequency_cap() -> schedule.FrequencyCap:
    return schedule.FrequencyCap(
        max_touches=settings.FREQUENCY_CAP_TOUCHES,
        period=timedelta(days=settings.FREQUENCY_CAP_DAYS),
    )


def zone_of(customer: Customer):
    return schedule.resolve_zone(customer.timezone or None, default=settings.TIME_ZONE)


def first_consented(step: Step, customer: Customer) -> str | None:
    """The first channel of the step's list the customer consented to, with an address for it."""
    for channel in step.channels(customer.preferred_channel):
        if customer.has_consent(channel) and _address(customer, channel):
            return channel
    return None


def _address(customer: Customer, channel: str) -> str:
    if channel == Channel.EMAIL:
        return customer.email
    if channel == Channel.SMS:
        return customer.phone
    if channel == Channel.LETTER:
        return customer.postal_address
    return customer.phone or customer.email or str(customer.pk)  # a call: the owner finds a way


@dataclass
class EnrollOutcome:
    """How many customers were enrolled, who was skipped and why; of their touches, how many
    were scheduled, skipped (by reason) and held until their date is known (by reason)."""

    enrolled: int = 0
    touches: int = 0
    skipped: list[dict[str, Any]] = field(default_factory=list)
    scheduled: int = 0
    touches_skipped: Counter[str] = field(default_factory=Counter)
    touches_held: Counter[str] = field(default_factory=Counter)


# Why a step's touch is not made at enrollment: its date is not known yet (it is made later).
HELD: dict[str, str] = {
    Step.Anchor.CONTRACT_END: "wait for a contract to renew",
    Step.Anchor.ANNIVERSARY_FIRST_PURCHASE: "wait for a first purchase",
}


def eligible(
    program: Program, customer: "Customer | Enrollee", tier_ids: set[int] | None = None
) -> str | None:
    """Why this customer may not join the program, or None when they may."""
    if customer.deleted_at:
        return "deleted"
    if tier_ids and customer.tier_id not in tier_ids:
        return "not in the program's tiers"
    if program.audiences and customer.audience not in program.audiences:
        return "not in the program's audience"
    if program.relationships and customer.relationship not in program.relationships:
        return "not in the program's relationships"
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
        raise ValidationError("This program is paused: activate it before enrolling.")
    now = now or timezone.now()
    if isinstance(customers, QuerySet):
        rows = customers.values_list(*ENROLL_FIELDS, named=True).iterator(chunk_size=batch_size)
    else:
        rows = (Enrollee(*(getattr(c, name) for name in ENROLL_FIELDS)) for c in customers)
    plan = _Plan(list(program.steps.order_by("order")), now)
    plan.tier_ids = set(program.tiers.values_list("id", flat=True))
    outcome = EnrollOutcome()
    may_write_beside = connection.vendor == "postgresql" and not connection.in_atomic_block
    writer = _Writer()
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
        "program %s: %s enrolled, %s touches, %s skipped",
        program.pk, outcome.enrolled, outcome.touches, len(outcome.skipped),
    )  # fmt: skip
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
        self.window, self.cap = send_window(), frequency_cap()
        self.kinds: dict[tuple, list[tuple[int, datetime, str, str, str]]] = {}
        self.zones: dict[str, Any] = {}
        self.customers: dict[tuple, Customer] = {}
        self.placed: dict[tuple, tuple[datetime, str, str, str]] = {}
        # By the id of a kind's list of touches, which self.kinds keeps alive.
        self.lines: dict[int, list[tuple[str, str]]] = {}
        self.held: dict[int, Counter[str]] = {}

    def touches_for(
        self, customer: Enrollee, contract_ends_on, booked: Iterable[datetime]
    ) -> list[tuple[int, datetime, str, str, str]]:
        """(step id, due at, channel, status, last error) of each step the customer gets."""
        key = (
            customer.timezone, customer.first_purchase_on, customer.preferred_channel,
            customer.consent_email, customer.consent_sms, customer.consent_phone,
            customer.consent_letter, bool(customer.email), bool(customer.phone),
            bool(customer.postal_address), contract_ends_on, tuple(sorted(booked)),
        )  # fmt: skip
        planned = self.kinds.get(key)
        if planned is None:
            planned = self.kinds[key] = self._work_out(customer, key)
        return planned

    def count(self, outcome: EnrollOutcome, planned: list[list[tuple]]) -> None:
        """Add the touches of these customers' kinds to the outcome: scheduled, skipped and
        held, by reason (worked out once per kind)."""
        kinds = {id(touches): touches for touches in planned}
        for kind, customers in Counter(map(id, planned)).items():
            for _, _, _, status, error in kinds[kind]:
                if status == Touch.Status.SCHEDULED:
                    outcome.scheduled += customers
                else:
                    outcome.touches_skipped[error] += customers
            for reason, steps in self.held[kind].items():
                outcome.touches_held[reason] += steps * customers

    def copy_lines(self, planned: list[tuple]) -> list[tuple[str, str]]:
        """The touches of a kind as COPY lines around the enrollment and customer ids:
        [(between, after)], formatted once per kind."""
        lines = self.lines.get(id(planned))
        if lines is None:
            created = self.now.isoformat()
            lines = self.lines[id(planned)] = [
                (f"\t{step_id}\t", f"\t1\t{due.isoformat()}\t{channel}\t{status}\t0"
                                   f"\t{_copy_text(error)}\t\\N\t\\N\t\t\\N\t{created}\n")
                for step_id, due, channel, status, error in planned
            ]  # fmt: skip
        return lines

    def _work_out(self, row: Enrollee, key: tuple) -> list[tuple]:
        *alike, contract_ends_on, booked = key
        # One stand-in per kind: what the arithmetic reads of a customer is in the key.
        customer = self.customers.get(tuple(alike))
        if customer is None:
            customer = self.customers[tuple(alike)] = Customer(**row._asdict())
        zone = self.zones.get(customer.timezone)
        if zone is None:  # ZoneInfo keeps only a few zones at hand: keep them all here
            zone = self.zones[customer.timezone] = zone_of(customer)
        channels = (
            customer.preferred_channel, *customer.consents().values(), bool(customer.email),
            bool(customer.phone), bool(customer.postal_address),
        )  # fmt: skip
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
                held[HELD.get(step.anchor, "wait for their date")] += 1
                continue  # e.g. no contract to renew; added when one is signed
            key = (step.pk, anchor, zone.key, channels, tuple(others))
            placed = self.placed.get(key)
            if placed is None:
                placed = self.placed[key] = _placement(
                    step, customer, anchor, zone, self.window, self.cap, others, self.now
                )
            if placed[2] == Touch.Status.SCHEDULED:
                others = sorted([*others, placed[0]])
            planned.append((step.pk, *placed))
        self.held[id(planned)] = held
        return planned


def _placement(step, customer, anchor, zone, window, cap, others, now) -> tuple:
    """(due at, channel, status, last error) of a step's touch for the customer, placed in
    the send window under the cap given the customer's `others` touches."""
    due = schedule.due_at(anchor=anchor, offset_days=step.offset_days, zone=zone, window=window)
    channel = first_consented(step, customer)
    if channel is None:
        return (max(due, now), step.channels(customer.preferred_channel)[0],
                Touch.Status.SKIPPED, "No consent on any of the step's channels.")  # fmt: skip
    placed = schedule.place(
        due=due, zone=zone, window=window, cap=cap, others=others, not_before=now
    )
    return placed, channel, Touch.Status.SCHEDULED, ""


def _enroll_batch(
    program: Program, plan: _Plan, batch: list[Enrollee], outcome, writer: "_Writer"
) -> None:
    now = plan.now
    ids = [c.id for c in batch]
    previous: dict[int, list[tuple[str, datetime]]] = defaultdict(list)
    for customer_id, status, enrolled_at in Enrollment.objects.filter(
        _of_customers(ids), program=program
    ).values_list("customer_id", "status", "enrolled_at"):
        previous[customer_id].append((status, enrolled_at))
    ready = []
    for customer in batch:
        reason = (
            eligible(program, customer, plan.tier_ids)
            # Earlier batches of this run may still be on their way to the database.
            or ("already enrolled" if customer.id in writer.enrolled else None)
            or _reentry_refusal(program, previous[customer.id], now)
        )
        if reason:
            outcome.skipped.append({"customer": customer.id, "reason": reason})
        else:
            ready.append(customer)
            writer.enrolled.add(customer.id)
    if not ready:
        return
    ready_ids = [c.id for c in ready]
    contract_ends = dict(
        Contract.objects.filter(
            _of_customers(ready_ids),
            ends_on__gte=now.date(),
            renewal_status=Contract.Renewal.PENDING,
        )
        .order_by()
        .values("customer_id")
        .annotate(ends=Min("ends_on"))
        .values_list("customer_id", "ends")
    )
    others = _scheduled_times(ready_ids, since=now - plan.cap.period)

    planned = [
        plan.touches_for(customer, contract_ends.get(customer.id), others.get(customer.id, ()))
        for customer in ready
    ]
    plan.count(outcome, planned)
    if connection.vendor == "postgresql":
        enrollment_ids = _new_ids(Enrollment, len(ready))
        lines = [
            f"{enrollment_id}{between}{customer_id}{after}"
            for customer_id, enrollment_id, touches in zip(
                ready_ids, enrollment_ids, planned, strict=True
            )
            for between, after in plan.copy_lines(touches)
        ]
        writer.write(program.pk, list(zip(enrollment_ids, ready_ids, strict=True)), lines, now)
        outcome.touches += len(lines)
    else:
        with transaction.atomic():
            made = Enrollment.objects.bulk_create(
                [Enrollment(program=program, customer_id=pk, enrolled_at=now) for pk in ready_ids]
            )
            rows = [
                Touch(enrollment_id=e.pk, step_id=step_id, customer_id=e.customer_id, due_at=due,
                      channel=channel, status=status, last_error=error, created_at=now)
                for e, touches in zip(made, planned, strict=True)
                for step_id, due, channel, status, error in touches
            ]  # fmt: skip
            Touch.objects.bulk_create(rows, batch_size=2000)
        outcome.touches += len(rows)
    outcome.enrolled += len(ready)


def _new_ids(model, count: int) -> list:
    """Ids for rows about to be written, from the table's sequence (PostgreSQL): the touches
    can name their enrollment before either is written."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT nextval(pg_get_serial_sequence(%s, 'id')) FROM generate_series(1, %s)",
            [model._meta.db_table, count],
        )
        return [row[0] for row in cursor.fetchall()]


class _Writer:
    """Stores each batch of enrollments and their touches in one transaction.

    In the background (PostgreSQL outside a transaction), two threads with their own
    connections write with COPY while the caller works out the next batch: the database's
    work (indexes, foreign-key checks) then runs beside Python's instead of after it.
    """

    def __init__(self) -> None:
        self.enrolled: set[int] = set()
        self.background = False
        self.pool: ThreadPoolExecutor | None = None
        self.pending: list[Future] = []
        self.written = 0

    def write(self, program_id: int, enrollments: list, touches: list, now: datetime) -> None:
        if self.pool is None and self.background:
            self.pool = ThreadPoolExecutor(max_workers=2)
        if self.pool is None:
            _copy_batch(program_id, enrollments, touches, now)
            return
        while len(self.pending) >= 2:
            self.pending.pop(0).result()  # raises what the writer raised
            self.written += 1
            if self.written & (self.written - 1) == 0:
                # After batches 1, 2, 4, 8...: the tables have doubled since their statistics
                # were taken, and with the old ones the planner read every touch for each
                # batch's look-up of the touches its customers already have.
                with connection.cursor() as cursor:
                    cursor.execute("ANALYZE programs_touch, programs_enrollment")
        self.pending.append(
            self.pool.submit(_copy_batch, program_id, enrollments, touches, now, background=True)
        )

    def finish(self) -> None:
        if self.pool is None:
            return
        try:
            for future in self.pending:
                future.result()
        finally:
            self.pool.shutdown(wait=True)


def _copy_batch(
    program_id: int, enrollments: list, touches: list[str], now: datetime, *, background=False
) -> None:
    """Write enrollments [(id, customer id)] and their touches (lines of COPY's text format)
    in one transaction, with PostgreSQL's COPY."""
    active = Enrollment.Status.ACTIVE
    created = now.isoformat()
    enrollment_lines = "".join(
        f"{pk}\t{program_id}\t{customer_id}\t{created}\t{active}\t\t\\N\n"
        for pk, customer_id in enrollments
    )
    try:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.copy_expert(
                "COPY programs_enrollment"
                " (id, program_id, customer_id, enrolled_at, status, exit_reason, ended_at)"
                " FROM STDIN",
                io.StringIO(enrollment_lines),
            )
            cursor.copy_expert(
                f"COPY programs_touch ({', '.join(TOUCH_COLUMNS)}) FROM STDIN",
                io.StringIO("".join(touches)),
            )
    finally:
        if background:
            connection.close()  # this thread's own connection


TOUCH_COLUMNS = (
    "enrollment_id", "step_id", "customer_id", "occurrence", "due_at", "channel", "status",
    "attempts", "last_error", "lease_expires_at", "sent_at", "message_id", "responded_at",
    "created_at",
)  # fmt: skip


def _copy_text(text: str) -> str:
    """A text value in COPY's text format."""
    return text.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")


def _new_touch(
    enrollment, step, customer, occurrence, anchor, zone, window, cap, others, now
) -> Touch:
    """A touch of `step` for `customer`, placed; `others` grows with it (the cap's memory)."""
    due, channel, status, error = _placement(step, customer, anchor, zone, window, cap, others, now)
    if status == Touch.Status.SCHEDULED:
        others.append(due)
    return Touch(
        enrollment=enrollment, step=step, customer=customer, occurrence=occurrence,
        due_at=due, channel=channel, status=status, last_error=error,
    )  # fmt: skip


def _reentry_refusal(
    program: Program, previous: list[tuple[str, datetime]], now: datetime
) -> str | None:
    """Why a customer with these earlier enrollments (status, enrolled at) may not rejoin."""
    if any(status == Enrollment.Status.ACTIVE for status, _ in previous):
        return "already enrolled"
    if not previous:
        return None
    if program.reentry == Program.Reentry.ONCE:
        return "was enrolled before (the program allows one enrollment)"
    last = max(enrolled_at for _, enrolled_at in previous)
    if now - last < timedelta(days=program.reentry_days or 0):
        return f"enrolled less than {program.reentry_days} days ago"
    return None


def _scheduled_times(customer_ids: list[int], *, since: datetime) -> dict[int, list[datetime]]:
    """Every counted touch time of these customers from `since` on, across all programs."""
    times: dict[int, list[datetime]] = defaultdict(list)
    for customer_id, due in Touch.objects.filter(
        _of_customers(customer_ids), status__in=COUNTED, due_at__gte=since
    ).values_list("customer_id", "due_at"):
        times[customer_id].append(due)
    return times


class _AnyOf(Lookup):
    """`column = ANY(array)`: one parameter for thousands of ids."""

    lookup_name = "any_of"
    prepare_rhs = False

    def get_prep_lookup(self):
        return self.rhs

    def as_sql(self, compiler, connection):
        lhs, lhs_params = self.process_lhs(compiler, connection)
        return f"{lhs} = ANY(%s)", [*lhs_params, list(self.rhs)]


def _of_customers(ids: list[int]) -> Q | Lookup:
    """Rows of these customers. On PostgreSQL as one array: the ORM prepares each value of an
    IN list one by one, which took a tenth of a second for each batch of enrollments."""
    if connection.vendor == "postgresql":
        return _AnyOf(F("customer_id"), ids)
    return Q(customer_id__in=ids)


@transaction.atomic
def exit_enrollment(*, enrollment: Enrollment, reason: str, completed: bool = False) -> bool:
    """End an enrollment (exit with a reason, or completed) and cancel its scheduled touches."""
    ended = Enrollment.objects.filter(pk=enrollment.pk, status=Enrollment.Status.ACTIVE).update(
        status=Enrollment.Status.COMPLETED if completed else Enrollment.Status.EXITED,
        exit_reason=reason[:200],
        ended_at=timezone.now(),
    )
    if ended:
        Touch.objects.filter(enrollment=enrollment, status=Touch.Status.SCHEDULED).update(
            status=Touch.Status.CANCELLED, last_error=f"Enrollment ended: {reason}"[:500]
        )
    return bool(ended)


def dispatch_due(*, now: datetime | None = None, batch_size: int | None = None) -> list[list[int]]:
    """Claim due touches (FOR UPDATE SKIP LOCKED) with a lease; return delivery batches of ids.

    The caller enqueues one delivery task per batch after the claim commits, so a task never
    sees a touch that is not yet claimed, and a lost task only delays its touches: the lease
    runs out and the sweeper puts them back.
    """
    now = now or timezone.now()
    batch_size = batch_size or settings.DISPATCH_BATCH_SIZE
    lease = now + timedelta(seconds=settings.TOUCH_LEASE_SECONDS)
    with transaction.atomic():
        due = list(
            Touch.objects.select_for_update(skip_locked=True)
            .filter(status=Touch.Status.SCHEDULED, due_at__lte=now)
            .order_by("due_at", "id")
            .values_list("id", "channel")[:batch_size]
        )
        if not due:
            return []
        Touch.objects.filter(pk__in=[pk for pk, _ in due]).update(
            status=Touch.Status.CLAIMED, lease_expires_at=lease
        )
    by_channel: dict[str, list[int]] = defaultdict(list)
    for pk, channel in due:
        by_channel[channel].append(pk)
    size = settings.DELIVERY_BATCH_SIZE
    return [ids[i : i + size] for ids in by_channel.values() for i in range(0, len(ids), size)]


def sweep_leases(*, now: datetime | None = None) -> dict[str, int]:
    """Touches whose lease ran out: claimed ones go back to scheduled (nothing was sent);
    sending ones go to review, since the provider may have them: never resent blindly."""
    now = now or timezone.now()
    reclaimed = Touch.objects.filter(status=Touch.Status.CLAIMED, lease_expires_at__lt=now).update(
        status=Touch.Status.SCHEDULED, lease_expires_at=None
    )
    reviewed = Touch.objects.filter(status=Touch.Status.SENDING, lease_expires_at__lt=now).update(
        status=Touch.Status.REVIEW,
        last_error="The worker stopped while sending: check whether it arrived.",
    )
    settled = settle_sent(now=now)
    if reclaimed or reviewed or settled:
        logger.warning(
            "sweeper: %s touches reclaimed, %s to review, %s settled", reclaimed, reviewed, settled
        )
    return {"reclaimed": reclaimed, "review": reviewed, "settled": settled}


# A delivery batch settles its sent touches when it ends; one still unsettled this long after
# it was sent belongs to a worker that died or failed before the end.
SETTLE_AFTER = timedelta(minutes=5)


def settle_sent(*, now: datetime | None = None, limit: int = 1000) -> int:
    """Write what sent touches leave behind for those a delivery batch left unsettled (its
    worker killed or failed mid-batch); returns how many. Touches a batch is settling right
    now are locked by it and skipped."""
    now = now or timezone.now()
    with transaction.atomic():
        touches = list(
            Touch.objects.select_for_update(skip_locked=True, of=("self",))
            .filter(unsettled=True, status=Touch.Status.SENT, sent_at__lt=now - SETTLE_AFTER)
            .select_related("step", "enrollment", "customer")
            .order_by("sent_at")[:limit]
        )
        return len(_after_sent(touches)) if touches else 0


def deliver(*, touch_ids: list[int], resume: dict | None = None) -> dict[str, int]:
    """Send a batch of claimed touches over one channel session each; each touch is claimed
    and its outcome committed on its own, so one failure never holds back the others.

    What the batch needs is read once (touches with step, enrollment and customer; recent
    sends for the frequency cap; links and codes for the templates, made in bulk), and what
    the sent touches leave behind (timeline, rewards, next anniversaries, completed
    enrollments) is written once at the end.

    When the database goes away mid-batch this raises DeliveryInterrupted with what the
    retry needs (`resume`): the touches the batch sent ([id, message id, sent at]), recorded
    first, and the one it held in sending without handing it over, taken back to be sent.
    Nothing then waits for the lease or the sweeper.
    """
    resume = resume or {}
    sent: list[Touch] = []
    try:
        return _deliver(touch_ids, resume, sent)
    except DATABASE_LOST as error:
        carried = {pk: [pk, message_id, at] for pk, message_id, at in resume.get("sent", [])}
        for touch in sent:
            sent_at = touch.sent_at or timezone.now()  # set by _send for every touch it sent
            carried[touch.pk] = [touch.pk, touch.message_id, sent_at.isoformat()]
        unsent = [*resume.get("unsent", []), *getattr(error, "unsent", [])]
        raise DeliveryInterrupted(
            resume={"sent": list(carried.values()), "unsent": unsent}
        ) from error


def _deliver(touch_ids: list[int], resume: dict, sent: list[Touch]) -> dict[str, int]:
    counts: dict[str, int] = defaultdict(int)
    if resume.get("unsent"):
        # Held in sending but never handed to the provider: claimed again, sent below.
        Touch.objects.filter(pk__in=resume["unsent"], status=Touch.Status.SENDING).update(
            status=Touch.Status.CLAIMED, attempts=F("attempts") - 1
        )
    touches = [
        touch
        for touch in Touch.objects.filter(pk__in=touch_ids)
        .select_related(
            "step__program__goal_tier", "enrollment", "customer__owner", "customer__tier"
        )
        .order_by("id")
        # Only claimed ones are ours to send. Filtered here, not in SQL, so the rows are read
        # by their ids (see CLAIM_TO_SEND).
        if touch.status == Touch.Status.CLAIMED
    ]
    earlier = _record_sent_before(resume.get("sent", []))
    if not touches:
        if earlier:
            _after_sent(earlier)
        return {}
    now = timezone.now()
    recent = _recent_sends({touch.customer_id for touch in touches}, now)
    # Links, codes and invitations only for touches the batch's reads say will go out: a
    # skipped touch should leave no survey invitation behind. The others take the slow path.
    ready = [touch for touch in touches if _may_send(touch, recent)]
    facts = content.gather_facts(ready)
    ready_ids = {touch.pk for touch in ready}
    by_channel: dict[str, list[Touch]] = defaultdict(list)
    for touch in touches:
        by_channel[touch.channel].append(touch)
    for channel, group in by_channel.items():
        module = CHANNELS[channel]
        unrecorded = None
        with module.open() as session:
            try:
                for touch in group:
                    outcome, unrecorded = _deliver_one(
                        touch, module, session, facts if touch.pk in ready_ids else None,
                        recent, unrecorded,
                    )  # fmt: skip
                    counts[outcome] += 1
                    if outcome == Touch.Status.SENT:
                        sent.append(touch)
            finally:
                if unrecorded is not None:
                    _record_sent(unrecorded)
    if sent or earlier:
        # A crash before this leaves the sent touches unsettled: the sweeper settles them.
        _after_sent([*earlier, *sent])
    return dict(counts)


# Errors of a lost database connection (a restart, a failover, the network): the batch is
# retried once it is back instead of waiting for the lease to run out.
DATABASE_LOST = (OperationalError, InterfaceError)


class DeliveryInterrupted(Exception):
    """The database went away mid-batch; `resume` tells the retry what the batch had sent
    ({"sent": [[id, message id, sent at]]}) and held unsent ({"unsent": [id]})."""

    def __init__(self, *, resume: dict) -> None:
        super().__init__(f"database lost mid-batch after {len(resume['sent'])} sent")
        self.resume = resume


def _record_sent_before(sent_before: list) -> list[Touch]:
    """Record the touches an interrupted run of this batch sent (still in sending: a touch
    the sweeper sent to review meanwhile keeps that verdict); returns them for settling."""
    if not sent_before:
        return []
    for pk, message_id, sent_at in sent_before:
        params = [Touch.Status.SENT, datetime.fromisoformat(sent_at), message_id, pk,
                  Touch.Status.SENDING]  # fmt: skip
        _run(RECORD_SENT, params)
    return list(
        Touch.objects.filter(
            pk__in=[pk for pk, _, _ in sent_before], status=Touch.Status.SENT, unsettled=True
        ).select_related("step", "enrollment", "customer")
    )


def _may_send(touch: Touch, recent: dict[int, int]) -> bool:
    """Whether the batch's reads let this touch go out now on its channel (its claim then
    checks consent, deletion and the enrollment again, at that instant)."""
    customer = touch.customer
    goal = touch.step.program.goal_tier
    return bool(
        customer.has_consent(touch.channel)
        and not customer.deleted_at
        and touch.enrollment.status == Enrollment.Status.ACTIVE
        and _address(customer, touch.channel)
        and recent.get(customer.pk, 0) < frequency_cap().max_touches
        and not (goal and customer.tier and customer.tier.rank >= goal.rank)
    )


def _recent_sends(customer_ids: set[int], now: datetime) -> dict[int, int]:
    """How many touches each customer was sent within the cap's period, across all programs."""
    period_start = now - frequency_cap().period
    counted = {Touch.Status.SENT, Touch.Status.WAITING, Touch.Status.SENDING}
    recent: dict[int, int] = defaultdict(int)
    # Read by customer and sorted out here: a filter on the status could lead the planner to
    # an index of every sent touch (see CLAIM_TO_SEND).
    for customer_id, status in Touch.objects.filter(
        customer_id__in=customer_ids, sent_at__gt=period_start
    ).values_list("customer_id", "status"):
        if status in counted:
            recent[customer_id] += 1
    return recent


# The claim of one touch for sending, per channel (each has its own consent column). The
# status is compared as `status || ''` so that the planner looks the row up by its id: with
# statistics from before a burst (no claimed touches yet), it would otherwise walk an index
# of every claimed touch for each one.
#
# It also checks that the address the message was rendered for is still the customer's, and
# counts the customer's sends within the cap's period afresh (another worker may have sent
# one since the batch was read); the touch sent just before by this worker is still in
# sending in the statement's snapshot, so sending ones count whatever their time.
ADDRESS_COLUMNS: dict[str, str] = {
    Channel.EMAIL: "email",
    Channel.SMS: "phone",
    Channel.LETTER: "postal_address",
}
CLAIM_TO_SEND = {
    # Column names come from the fixed list of channels, never from input.
    channel: (
        "UPDATE programs_touch SET status = %s, lease_expires_at = %s,"  # noqa: S608
        " attempts = attempts + 1 WHERE id = %s AND status || '' = %s"
        " AND EXISTS (SELECT 1 FROM customers_customer c WHERE c.id = %s"
        f" AND c.consent_{channel} AND c.deleted_at IS NULL"
        + (f" AND c.{ADDRESS_COLUMNS[channel]} = %s)" if channel in ADDRESS_COLUMNS else ")")
        + " AND EXISTS (SELECT 1 FROM programs_enrollment e WHERE e.id = %s AND e.status = %s)"
        " AND (SELECT count(*) FROM programs_touch t WHERE t.customer_id = %s AND t.id <> %s"
        " AND t.status IN ('sent', 'waiting', 'sending')"
        " AND (t.sent_at > %s OR t.status = 'sending')) < %s"
    )
    for channel in Channel.values
}


# Sent and unsettled until the batch writes what it leaves behind (see Touch.unsettled).
RECORD_SENT = (
    "UPDATE programs_touch SET status = %s, lease_expires_at = NULL, sent_at = %s,"
    " message_id = %s, unsettled = true WHERE id = %s AND status || '' = %s"
)


def _claim_to_send(touch: Touch, lease: datetime, unrecorded: Touch | None) -> bool:
    """Claimed -> sending by a conditional update that also re-reads, at this instant, that
    the customer still consents to the channel, is not deleted, still has the address the
    message is for, is under the frequency cap, and the enrollment is active.

    1 row: this worker owns the touch and may send it. 0 rows: another worker (or the
    sweeper) has it, or something changed since the batch was read: the slow path decides.
    On PostgreSQL the same statement records the touch sent just before (`unrecorded`).
    """
    sql = CLAIM_TO_SEND[touch.channel]
    cap = frequency_cap()
    address = [_address(touch.customer, touch.channel)] if touch.channel in ADDRESS_COLUMNS else []
    params = [
        Touch.Status.SENDING, lease, touch.pk, Touch.Status.CLAIMED, touch.customer_id, *address,
        touch.enrollment_id, Enrollment.Status.ACTIVE, touch.customer_id, touch.pk,
        timezone.now() - cap.period, cap.max_touches,
    ]  # fmt: skip
    if unrecorded is not None:
        if connection.vendor == "postgresql":
            sql = f"WITH sent AS ({RECORD_SENT} RETURNING id) {sql}"
            params = [*_sent_params(unrecorded), *params]
        else:
            _record_sent(unrecorded)
    claimed = _run(sql, params) == 1
    if unrecorded is not None:
        unrecorded.status, unrecorded.lease_expires_at = Touch.Status.SENT, None
    return claimed


def _deliver_one(
    touch: Touch, module, session, facts, recent: dict[int, int], unrecorded: Touch | None
) -> tuple[str, Touch | None]:
    """Send one touch of the batch: (what became of it, the sent touch not yet recorded).

    A sent touch is recorded together with the next touch's claim, one statement instead of
    two. Until then it stays in sending, as while it was being sent: a crash meanwhile sends
    it to review like any touch the provider may have, and only one touch per worker is ever
    in that state.
    """
    now = timezone.now()
    lease = now + timedelta(seconds=settings.TOUCH_LEASE_SECONDS)
    customer = touch.customer
    claimed = (
        facts is not None
        # The cap again: an earlier touch of this batch may have been sent to the customer.
        and recent.get(customer.pk, 0) < frequency_cap().max_touches
        and _claim_to_send(touch, lease, unrecorded)
    )
    if not claimed:
        if unrecorded is not None and unrecorded.status == Touch.Status.SENDING:
            _record_sent(unrecorded)
        outcome = _deliver_one_slowly(touch, module, session)
        if outcome in (Touch.Status.SENT, Touch.Status.WAITING):
            recent[customer.pk] = recent.get(customer.pk, 0) + 1
        return outcome, None
    touch.attempts += 1
    touch.status = Touch.Status.SENDING
    outcome = _send(touch, customer, touch.channel, module, session, facts, now)
    if outcome in (Touch.Status.SENT, Touch.Status.WAITING):
        recent[customer.pk] = recent.get(customer.pk, 0) + 1
    return outcome, touch if outcome == Touch.Status.SENT else None


def _deliver_one_slowly(touch: Touch, module, session) -> str:
    """A touch the fast path could not claim: read afresh, claim it if it is still ours, and
    decide (skip, fall back, defer for the cap, exit the enrollment) one query at a time."""
    now = timezone.now()
    lease = now + timedelta(seconds=settings.TOUCH_LEASE_SECONDS)
    # Claimed -> sending by a conditional update: 1 row means this worker owns the touch,
    # 0 means another worker (or the sweeper) has it, so stop.
    if not Touch.objects.filter(pk=touch.pk, status=Touch.Status.CLAIMED).update(
        status=Touch.Status.SENDING, lease_expires_at=lease, attempts=F("attempts") + 1
    ):
        return "taken"
    touch.refresh_from_db(fields=["attempts", "status"])
    customer = Customer.objects.select_related("owner", "tier").get(pk=touch.customer_id)
    refusal = _refusal_at_send_time(touch, customer, now)
    if refusal == "cap":
        return _defer(touch, customer, now)
    if refusal:
        return _finish(touch, Touch.Status.SKIPPED, error=refusal)
    channel = touch.channel
    if not customer.has_consent(channel) or not _address(customer, channel):
        fallback = first_consented(touch.step, customer)
        if fallback is None:
            return _finish(touch, Touch.Status.SKIPPED, error="Consent withdrawn on every channel.")
        if fallback != channel:
            # Fall back to another consented channel: hand the touch to that channel's batch.
            Touch.objects.filter(pk=touch.pk, status=Touch.Status.SENDING).update(
                channel=fallback, status=Touch.Status.SCHEDULED, due_at=now, lease_expires_at=None,
                attempts=touch.attempts - 1,
            )  # fmt: skip
            return "fallback"
    touch.customer = customer
    outcome = _send(touch, customer, channel, module, session, None, now)
    if outcome == Touch.Status.SENT:
        _record_sent(touch)
    return outcome


def _send(touch: Touch, customer: Customer, channel: str, module, session, facts, now) -> str:
    """Render and send a touch this worker holds in sending. Failures are recorded here; a
    sent touch gets its message id and time, for the caller to record."""
    try:
        message = content.message_for(touch=touch, customer=customer, channel=channel, facts=facts)
        outcome = module.send(message, session)
    except TransientError as error:
        return _retry(touch, str(error), now)
    except PermanentError as error:
        return _finish(touch, Touch.Status.FAILED, error=str(error))
    except UncertainError as error:
        # Like a crash while sending: the provider may have it, so a person decides.
        logger.warning("touch %s to review: %s", touch.pk, error)
        return _finish(touch, Touch.Status.REVIEW, error=str(error))
    except DATABASE_LOST as error:
        # Not the touch's fault, and raised before the message was handed over: the retry
        # takes the touch back and sends it.
        error.unsent = [touch.pk]  # type: ignore[union-attr]  # read back by deliver()
        raise
    except Exception as error:  # a bug or a template error: fail this touch, not the batch
        logger.exception("touch %s failed", touch.pk)
        return _finish(touch, Touch.Status.FAILED, error=f"{type(error).__name__}: {error}")
    if outcome.waiting:
        return _finish(touch, Touch.Status.WAITING, message_id=outcome.message_id)
    touch.sent_at, touch.message_id = timezone.now(), outcome.message_id[:200]
    return str(Touch.Status.SENT)


def _sent_params(touch: Touch) -> list:
    return [Touch.Status.SENT, touch.sent_at, touch.message_id, touch.pk, Touch.Status.SENDING]


def _record_sent(touch: Touch) -> None:
    """Sending -> sent with the provider's id; only from sending, so a touch the sweeper sent
    to review meanwhile keeps that verdict."""
    _run(RECORD_SENT, _sent_params(touch))
    touch.status, touch.lease_expires_at = Touch.Status.SENT, None


# Statements of the delivery loop prepared on each PostgreSQL connection: {connection: {sql:
# name}}. Weak keys: a closed connection takes its statements with it.
_PREPARED: "weakref.WeakKeyDictionary[Any, dict[str, str]]" = weakref.WeakKeyDictionary()


def _run(sql: str, params: list) -> int:
    """Run one of the delivery loop's statements; returns how many rows it changed.

    On PostgreSQL each is prepared once per connection: planning these small updates (on a
    table with many indexes) took longer than running them. Prepared statements live in the
    server session, so this needs a session of its own per connection: not a pooler in
    transaction mode (PgBouncer's), which hands each transaction any server session.
    """
    with connection.cursor() as cursor:
        if connection.vendor != "postgresql":
            cursor.execute(sql, params)
            return cursor.rowcount
        names = _PREPARED.setdefault(connection.connection, {})
        name = names.get(sql)
        if name is None:
            name = f"programs_delivery_{len(names)}"
            numbers = itertools.count(1)
            cursor.execute(f"PREPARE {name} AS " + re.sub("%s", lambda _: f"${next(numbers)}", sql))
            names[sql] = name
        cursor.execute(f"EXECUTE {name}({', '.join(['%s'] * len(params))})", params)
        return cursor.rowcount


def _refusal_at_send_time(touch: Touch, customer: Customer, now: datetime) -> str | None:
    enrollment = Enrollment.objects.get(pk=touch.enrollment_id)
    if customer.deleted_at:
        exit_enrollment(enrollment=enrollment, reason="customer deleted")
        return "Customer deleted."
    if enrollment.status != Enrollment.Status.ACTIVE:
        return f"Enrollment {enrollment.get_status_display().lower()}."
    program = touch.step.program
    if not any(customer.consents().values()) and program.exit_when_unsubscribed:
        exit_enrollment(enrollment=enrollment, reason="unsubscribed from every channel")
        return "Unsubscribed from every channel."
    if program.goal_tier and customer.tier and customer.tier.rank >= program.goal_tier.rank:
        exit_enrollment(enrollment=enrollment, reason="goal reached", completed=True)
        return "Goal reached."
    cap = frequency_cap()
    recent = Touch.objects.filter(
        customer=customer,
        status__in=[Touch.Status.SENT, Touch.Status.WAITING, Touch.Status.SENDING],
        sent_at__gt=now - cap.period,
    ).exclude(pk=touch.pk)
    if recent.count() >= cap.max_touches:
        return "cap"
    return None


def _defer(touch: Touch, customer: Customer, now: datetime) -> str:
    """The cap is full right now: move the touch to the first instant it allows."""
    cap = frequency_cap()
    others = list(
        Touch.objects.filter(
            customer=customer, status__in=COUNTED, due_at__gte=now - cap.period
        ).exclude(pk=touch.pk).values_list("due_at", flat=True)
    )  # fmt: skip
    sent = Touch.objects.filter(customer=customer, sent_at__gt=now - cap.period).exclude(
        pk=touch.pk
    )
    others += [moment for moment in sent.values_list("sent_at", flat=True) if moment]
    placed = schedule.place(
        due=now, zone=zone_of(customer), window=send_window(), cap=cap, others=others,
        not_before=now + timedelta(minutes=1),
    )  # fmt: skip
    Touch.objects.filter(pk=touch.pk, status=Touch.Status.SENDING).update(
        status=Touch.Status.SCHEDULED, due_at=placed, lease_expires_at=None,
        attempts=touch.attempts - 1, last_error="Deferred by the frequency cap.",
    )  # fmt: skip
    return "deferred"


def _retry(touch: Touch, error: str, now: datetime) -> str:
    """Back off exponentially with jitter; past the attempt limit the touch fails."""
    if touch.attempts >= settings.TOUCH_MAX_ATTEMPTS:
        return _finish(touch, Touch.Status.FAILED, error=f"Gave up after {touch.attempts} "
                                                          f"attempts: {error}")  # fmt: skip
    delay = settings.TOUCH_RETRY_BASE_SECONDS * 2 ** (touch.attempts - 1)
    delay = delay * (0.5 + random.random())  # jitter: retries from a batch do not stampede
    Touch.objects.filter(pk=touch.pk, status=Touch.Status.SENDING).update(
        status=Touch.Status.SCHEDULED,
        due_at=now + timedelta(seconds=delay),
        lease_expires_at=None,
        last_error=error[:500],
    )
    return "retry"


def _finish(touch: Touch, status: str, *, error: str = "", message_id: str = "") -> str:
    """Record how a touch ended; only from sending, so a swept touch is never overwritten."""
    fields: dict[str, Any] = {"status": status, "lease_expires_at": None}
    if error:
        fields["last_error"] = error[:500]
    if message_id:
        fields["message_id"] = message_id[:200]
    if status in (Touch.Status.SENT, Touch.Status.WAITING):
        fields["sent_at"] = timezone.now()
    Touch.objects.filter(pk=touch.pk, status=Touch.Status.SENDING).update(**fields)
    for name, value in fields.items():
        setattr(touch, name, value)
    return str(status)


@transaction.atomic
def _after_sent(touches: list[Touch]) -> list[Touch]:
    """What sent touches leave behind, for a whole batch at once: a timeline line each, the
    gift step's reward, the next year of yearly steps, enrollments now done.

    Exactly once: only for the touches still unsettled, marked settled in the same
    transaction (their rows locked, so the batch and the sweeper never both do it). Returns
    the touches it settled.
    """
    pending = set(
        Touch.objects.select_for_update()
        .filter(pk__in=[touch.pk for touch in touches], unsettled=True)
        .values_list("pk", flat=True)
    )
    touches = [touch for touch in touches if touch.pk in pending]
    if not touches:
        return []
    Touch.objects.filter(pk__in=pending).update(unsettled=False)
    customer_services.note_many_on_timeline(
        entries=[
            TimelineEntry(
                customer_id=touch.customer_id,
                kind=TimelineEntry.Kind.TOUCH,
                title=f"{touch.step.name} sent by {Channel(touch.channel).label}",
                # Set with the sent status; the clock only if a row somehow lost it.
                occurred_at=touch.sent_at or timezone.now(),
                source_id=touch.pk,
            )
            for touch in touches
        ]
    )
    for touch in touches:
        step = touch.step
        if step.kind == Step.Kind.GIFT and step.reward_kind:
            customer_services.give_reward(
                customer=touch.customer,
                kind=step.reward_kind,
                value=step.reward_value,
                reason=step.name,
            )
    schedule_next_occurrences(touches=[touch for touch in touches if touch.step.is_yearly])
    _complete_if_done({touch.enrollment_id for touch in touches})
    return touches


def schedule_next_occurrences(*, touches: list[Touch]) -> list[Touch]:
    """Yearly steps schedule their next year once this one is done (customer, enrollment and
    step loaded with each touch)."""
    if not touches:
        return []
    now = timezone.now()
    window, cap = send_window(), frequency_cap()
    booked = _scheduled_times(list({t.customer_id for t in touches}), since=now - cap.period)
    new = []
    for touch in touches:
        customer = touch.customer
        zone = zone_of(customer)
        anchor = schedule.anchor_date(
            kind=touch.step.anchor,
            enrolled_on=touch.enrollment.enrolled_at.astimezone(zone).date(),
            contract_ends_on=None,
            first_purchase_on=customer.first_purchase_on,
            occurrence=touch.occurrence + 1,
        )
        if anchor is None:
            continue
        new.append(_new_touch(touch.enrollment, touch.step, customer, touch.occurrence + 1,
                              anchor, zone, window, cap, booked[customer.pk], now))  # fmt: skip
    return Touch.objects.bulk_create(new, ignore_conflicts=True)


def _complete_if_done(enrollment_ids: set[int]) -> None:
    # Failed and review touches still need a person: the enrollment is not done with them.
    done = [Touch.Status.SENT, Touch.Status.SKIPPED, Touch.Status.CANCELLED]
    yearly = [Step.Anchor.ANNIVERSARY_ENROLLMENT, Step.Anchor.ANNIVERSARY_FIRST_PURCHASE]
    touches = Touch.objects.filter(enrollment_id__in=enrollment_ids).order_by()
    busy = set(
        touches.filter(~Q(status__in=done) | Q(step__anchor__in=yearly))
        .values_list("enrollment_id", flat=True)
        .distinct()
    )
    for enrollment in Enrollment.objects.filter(
        pk__in=enrollment_ids - busy, status=Enrollment.Status.ACTIVE
    ):
        exit_enrollment(enrollment=enrollment, reason="all steps done", completed=True)


def mark_waiting_done(*, touch: Touch, how: str) -> bool:
    """A call was logged or a letter posted: the waiting touch counts as sent."""
    done = Touch.objects.filter(pk=touch.pk, status=Touch.Status.WAITING).update(
        status=Touch.Status.SENT, sent_at=timezone.now(), unsettled=True
    )
    if done:
        touch = Touch.objects.select_related("step", "enrollment", "customer").get(pk=touch.pk)
        _after_sent([touch])
        logger.info("touch %s done: %s", touch.pk, how)
    return bool(done)


def follow_up_done(*, follow_up: FollowUp) -> None:
    """The owner made the call a phone touch asked for."""
    if follow_up.source.startswith("touch:"):
        touch = Touch.objects.filter(pk=int(follow_up.source.split(":", 1)[1])).first()
        if touch is not None:
            mark_waiting_done(touch=touch, how="call logged")


@transaction.atomic
def mark_letters_posted(*, batch: LetterBatch) -> int:
    """The printed letters went out: their touches are sent."""
    if not LetterBatch.objects.filter(pk=batch.pk, posted_at__isnull=True).update(
        posted_at=timezone.now()
    ):
        return 0
    done = 0
    for touch in batch.touches.filter(status=Touch.Status.WAITING).select_related("customer"):
        done += mark_waiting_done(touch=touch, how="letter posted")
    return done


def record_response(*, touch: Touch) -> bool:
    """The customer answered (a survey, a reply): the touch counts as responded."""
    return bool(
        Touch.objects.filter(pk=touch.pk, responded_at__isnull=True).update(
            responded_at=timezone.now()
        )
    )


def survey_answered(*, response) -> None:
    """An answer marks its touch responded; a promoter is asked for a referral at once."""
    touch_id = response.invitation.touch_id
    if touch_id:
        touch = Touch.objects.filter(pk=touch_id).first()
        if touch is not None:
            record_response(touch=touch)
    if response.category == "promoter":
        schedule_now(customer=response.customer, kind=Step.Kind.REFER_FRIEND)


def schedule_now(*, customer: Customer, kind: str) -> int:
    """Bring the customer's scheduled touches of this step kind forward to now (e.g. a
    promoter is asked for a referral at once); returns how many moved."""
    now = timezone.now()
    return Touch.objects.filter(
        customer=customer, step__kind=kind, status=Touch.Status.SCHEDULED, due_at__gt=now
    ).update(due_at=now)


def unsubscribe_token(*, customer: Customer, channel: str) -> str:
    """The customer's unguessable one-click unsubscribe token for a channel (made once)."""
    token, _ = UnsubscribeToken.objects.get_or_create(
        customer=customer, channel=channel, defaults={"token": secrets.token_urlsafe(24)}
    )
    return token.token


def unsubscribe_tokens(*, pairs: set[tuple[int, str]]) -> dict[tuple[int, str], str]:
    """The one-click tokens of many (customer id, channel) pairs, made in bulk where missing."""

    def read() -> dict[tuple[int, str], str]:
        customer_ids = {customer_id for customer_id, _ in pairs}
        return {
            (customer_id, channel): token
            for customer_id, channel, token in UnsubscribeToken.objects.filter(
                customer_id__in=customer_ids
            ).values_list("customer_id", "channel", "token")
            if (customer_id, channel) in pairs
        }

    tokens = read()
    missing = pairs - tokens.keys()
    if missing:
        # Another worker may make the same token meanwhile: its row wins, ours is dropped.
        UnsubscribeToken.objects.bulk_create(
            [
                UnsubscribeToken(customer_id=pk, channel=channel, token=secrets.token_urlsafe(24))
                for pk, channel in missing
            ],
            ignore_conflicts=True,
        )
        tokens = read()
    return tokens


@transaction.atomic
def unsubscribe(*, token: str, channels: list[str] | None = None) -> Customer | None:
    """Withdraw consent at once (RFC 8058 one-click, or the channels a customer chose);
    idempotent. Returns the customer, or None for an unknown token."""
    link = UnsubscribeToken.objects.select_related("customer").filter(token=token).first()
    if link is None:
        return None
    for channel in channels or [link.channel]:
        customer_services.set_consent(
            customer=link.customer, channel=channel, granted=False, source="unsubscribe link"
        )
    return link.customer


def stop_by_sms(*, phone: str) -> int:
    """An inbound STOP: withdraw SMS consent of every customer with that number."""
    stopped = 0
    for customer in Customer.objects.filter(phone=phone, deleted_at__isnull=True):
        stopped += customer_services.set_consent(
            customer=customer, channel=Channel.SMS, granted=False, source="SMS STOP"
        )
    return stopped


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
        others = _scheduled_times([customer.pk], since=now - frequency_cap().period)[customer.pk]
        touch = _new_touch(enrollment, step, customer, 1, contract.ends_on, zone_of(customer),
                           send_window(), frequency_cap(), others, now)  # fmt: skip
        Touch.objects.bulk_create([touch], ignore_conflicts=True)
        created += 1
    return created


def enroll_on_tier(*, customer: Customer, tier) -> int:
    """Programs that enroll customers reaching this tier take them in."""
    enrolled = 0
    for program in Program.objects.filter(auto_enroll_tier=tier, is_active=True):
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
        ended += exit_enrollment(enrollment=enrollment, reason="goal reached", completed=True)
    return ended


def move_merged(*, survivor: Customer, merged: Customer) -> None:
    """A merge moves the merged customer's enrollments and touches to the survivor."""
    Touch.objects.filter(customer=merged).update(customer=survivor)
    Enrollment.objects.filter(customer=merged).update(customer=survivor)
    UnsubscribeToken.objects.filter(customer=merged).delete()
