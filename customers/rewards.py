"""The reward ledger: grant, redeem, reverse and expire, each one transaction under the
customer's lock, each line on the timeline; and the reward rules that grant on events.

A line with a source key is written once: the same event (a referral converting twice, an API
request sent again) finds the first line and returns it, changing nothing.
"""

from datetime import datetime, timedelta
from decimal import Decimal

from django.conf import settings
from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext, gettext_noop

from customers import announce, purse, timeline
from customers.models import Customer, Reward, RewardPolicy, RewardRule, TimelineEntry
from customers.queries import is_marketer
from customers.sayings import choice, quoted, said

EVENT_CAUSES = {
    RewardRule.Event.REFERRAL_CONVERTED: Reward.Cause.REFERRAL,
    RewardRule.Event.FRIEND_FIRST_PURCHASE: Reward.Cause.FIRST_PURCHASE,
    RewardRule.Event.SURVEY_ANSWERED: Reward.Cause.PREMIUM,
}


def goodwill_limit() -> Decimal:
    """The most an account manager grants as goodwill at once: the organization's value, else
    REWARD_GOODWILL_LIMIT."""
    limit = RewardPolicy.objects.filter(pk=1).values_list("goodwill_limit", flat=True).first()
    return Decimal(settings.REWARD_GOODWILL_LIMIT) if limit is None else limit


def set_goodwill_limit(*, limit: Decimal, by: User | None = None) -> RewardPolicy:
    """Marketers set the organization's goodwill limit (0: account managers grant none)."""
    if by is not None and not is_marketer(by):
        raise PermissionDenied(gettext("Only marketers set the goodwill limit."))
    policy = RewardPolicy(pk=1, goodwill_limit=Decimal(limit))
    policy.full_clean(validate_unique=False, validate_constraints=False)
    policy.save()
    return policy


def expiry_of(given_at: datetime) -> datetime:
    """When a line earned at `given_at` lapses (REWARD_EXPIRY_DAYS later)."""
    return given_at + timedelta(days=settings.REWARD_EXPIRY_DAYS)


def grant(
    *,
    customer: Customer,
    value: Decimal,
    reason: str,
    reason_key: str = "",
    reason_args: dict | None = None,
    unit: str = Reward.Unit.POINTS,
    cause: str = "",
    kind: str = "",
    by: User | None = None,
    source_key: str = "",
    given_at: datetime | None = None,
    now: datetime | None = None,
) -> Reward:
    """Credit the customer's ledger. An account manager (`by`) grants goodwill only, up to the
    organization's goodwill limit; marketers and the system grant freely. A reason the code
    writes passes `**said(gettext_noop(...), field="reason", ...)`."""
    now = now or timezone.now()
    given_at = given_at or now
    marketer = by is None or is_marketer(by)
    cause = cause or (Reward.Cause.MANUAL if marketer else Reward.Cause.GOODWILL)
    if not marketer:
        if cause != Reward.Cause.GOODWILL:
            raise PermissionDenied(
                gettext("Account managers grant goodwill; marketers grant the rest.")
            )
        limit = goodwill_limit()
        if Decimal(value) > limit:
            raise PermissionDenied(
                gettext(
                    "Goodwill from an account manager is at most %(limit)s; "
                    "ask a marketer for more."
                )
                % {"limit": limit}
            )
    if Decimal(value) < 0:
        raise ValidationError({"value": gettext("A grant gives; redeem to take.")})
    entry = Reward(
        customer=customer,
        movement=Reward.Movement.EARNED,
        cause=cause,
        kind=kind,
        unit=unit,
        value=value,
        reason=reason,
        reason_key=reason_key,
        reason_args=reason_args or {},
        given_at=given_at,
        expires_at=expiry_of(given_at) if value else None,
        # Nothing to write off when nothing was earned (a gift with no value).
        expiry_settled=not value,
        source_key=source_key,
        author=by,
    )
    _clean(entry)  # before the transaction: bad input leaves the caller's untouched
    return _grant(entry)


# No savepoint of its own (what could be refused was refused before): a gift step's settling
# grants for a whole batch, and a failure rolls back the caller's transaction anyway.
@transaction.atomic(savepoint=False)
def _grant(entry: Reward) -> Reward:
    # Locked, then written: a key written before is found by its unique index (see _write).
    _lock(entry.customer)
    return _write(entry, line=_earned_line(entry))


@transaction.atomic
def redeem(
    *,
    customer: Customer,
    value: Decimal,
    reason: str,
    unit: str = Reward.Unit.POINTS,
    by: User | None = None,
    source_key: str = "",
    now: datetime | None = None,
) -> Reward:
    """Spend from the balance (the lines closest to expiry first); marketers only. More than
    can be spent is refused and changes nothing."""
    if by is not None and not is_marketer(by):
        raise PermissionDenied(gettext("Only marketers redeem rewards."))
    now = now or timezone.now()
    value = Decimal(value)
    if value <= 0:
        raise ValidationError({"value": gettext("Redeem more than nothing.")})
    _lock(customer)
    if existing := _written(source_key):
        return existing
    try:
        purse.spend(purse.lots(_lines(customer.pk, unit)), value, now)
    except purse.Shortfall as short:
        raise ValidationError(
            {
                "value": gettext("Only %(available)s %(unit)s can be spent.")
                % {"available": short.available, "unit": Reward.Unit(unit).label.lower()}
            }
        ) from short
    entry = Reward(
        customer=customer,
        movement=Reward.Movement.REDEEMED,
        cause=Reward.Cause.MANUAL,
        unit=unit,
        value=-value,
        reason=reason,
        given_at=now,
        source_key=source_key,
        author=by,
    )
    return _write(
        entry,
        line=said(
            gettext_noop("Redeemed %(value)s %(unit)s: %(reason)s"),
            value=value,
            unit=choice("reward_unit", entry.unit),
            reason=reason,
        ),
    )


@transaction.atomic
def reverse(
    *,
    entry: Reward,
    reason: str,
    by: User | None = None,
    now: datetime | None = None,
    again_is_error: bool = False,
) -> Reward:
    """Take back what is left of an earned line (what was spent stays spent); once per line.
    A second reversal returns the first, or with `again_is_error` (a person asking) is refused."""
    if by is not None and not is_marketer(by):
        raise PermissionDenied(gettext("Only marketers reverse rewards."))
    if entry.movement != Reward.Movement.EARNED:
        raise ValidationError(gettext("Only an earned reward can be reversed."))
    now = now or timezone.now()
    _lock(entry.customer)
    if existing := _written(f"reverse:{entry.pk}"):
        if again_is_error:
            raise ValidationError(gettext("This reward was reversed already."))
        return existing
    left = purse.lots(_lines(entry.customer_id, entry.unit))[entry.pk].left
    if left <= 0:
        raise ValidationError(gettext("Nothing is left of this reward to take back."))
    reversal = Reward(
        customer=entry.customer,
        movement=Reward.Movement.REVERSED,
        cause=entry.cause,
        unit=entry.unit,
        value=-left,
        reason=reason,
        given_at=now,
        applies_to=entry,
        source_key=f"reverse:{entry.pk}",
        author=by,
    )
    return _write(
        reversal,
        line=said(
            gettext_noop("Reward reversed (%(value)s %(unit)s): %(reason)s"),
            value=-left,
            unit=choice("reward_unit", entry.unit),
            reason=reason,
        ),
    )


def expire_due(*, now: datetime | None = None, batch: int = 500) -> int:
    """Nightly: write off what is left of every earned line past its expiry; one transaction
    per customer. Returns the number of expiry lines written. Safe to run twice."""
    now = now or timezone.now()
    written = 0
    while True:
        customer_ids = list(
            Reward.objects.filter(
                movement=Reward.Movement.EARNED, expiry_settled=False, expires_at__lte=now
            )
            .values_list("customer_id", flat=True)
            .order_by("customer_id")
            .distinct()[:batch]
        )
        if not customer_ids:
            return written
        for customer_id in customer_ids:
            written += _expire_customer(customer_id, now)


@transaction.atomic
def _expire_customer(customer_id: int, now: datetime) -> int:
    customer = Customer.objects.select_for_update().get(pk=customer_id)
    written = 0
    for unit in Reward.Unit.values:
        for lot in purse.due(purse.lots(_lines(customer_id, unit)), now):
            entry = Reward(
                customer=customer,
                movement=Reward.Movement.EXPIRED,
                unit=unit,
                value=-lot.left,
                **said(gettext_noop("Expired unspent"), field="reason"),
                given_at=lot.expires_at or now,
                applies_to_id=lot.id,
                source_key=f"expire:{lot.id}",
            )
            _write(
                entry,
                line=said(
                    gettext_noop("Reward expired: %(value)s %(unit)s unspent"),
                    value=lot.left,
                    unit=choice("reward_unit", unit),
                ),
            )
            written += 1
    Reward.objects.filter(
        customer_id=customer_id,
        movement=Reward.Movement.EARNED,
        expiry_settled=False,
        expires_at__lte=now,
    ).update(expiry_settled=True)
    return written


@transaction.atomic
def set_rule(*, event: str, value: Decimal, unit: str = Reward.Unit.POINTS) -> RewardRule:
    """Make `value` in `unit` what the event earns from now on (one active rule per event)."""
    rule, _ = RewardRule.objects.update_or_create(
        event=event, active=True, defaults={"value": value, "unit": unit}
    )
    return rule


ORGANIZATION_EVENTS = [e for e in RewardRule.Event if e != RewardRule.Event.STEP_SENT]


@transaction.atomic
def save_rule(
    *, rule: RewardRule, event: str, value: Decimal, unit: str, active: bool = True
) -> RewardRule:
    """Create or change an organization-wide rule (the marketers' page). Another active rule
    for the same event is refused, changing nothing; switching off keeps the rule's history."""
    if event not in ORGANIZATION_EVENTS:
        raise ValidationError({"event": gettext("A step's reward is set on the step.")})
    if rule.pk and rule.event == RewardRule.Event.STEP_SENT:
        raise ValidationError(gettext("A step's reward is changed on the step's page."))
    rule.event, rule.value, rule.unit, rule.active = event, Decimal(value), unit, active
    rule.full_clean(validate_constraints=False)
    if active:
        # The rows of the event's rules locked: two marketers switching one on at once
        # meet here, not at the database's unique index.
        others = RewardRule.objects.select_for_update().filter(event=event, active=True)
        if rule.pk:
            others = others.exclude(pk=rule.pk)
        if others.exists():
            raise ValidationError(
                {
                    "event": gettext(
                        "This event already has a rule: change it or switch it off first."
                    )
                }
            )
    try:
        with transaction.atomic():
            rule.save()
    except IntegrityError as clash:
        raise ValidationError({"event": gettext("This event already has a rule.")}) from clash
    return rule


def switch_off_rule(*, rule: RewardRule) -> RewardRule:
    """Stop a rule granting; what it granted stays in the ledgers."""
    RewardRule.objects.filter(pk=rule.pk).update(active=False)
    rule.active = False
    return rule


def set_step_rule(
    *, rule: RewardRule | None, kind: str, value: Decimal, unit: str = Reward.Unit.MONEY
) -> RewardRule | None:
    """A step's reward rule after its form: changed in place (lines already earned keep their
    value), a new one if the step had none, switched off (None) for no kind and no value."""
    if not kind and not value:
        if rule is not None:
            RewardRule.objects.filter(pk=rule.pk).update(active=False)
        return None
    rule = rule or RewardRule(event=RewardRule.Event.STEP_SENT)
    rule.kind, rule.value, rule.unit, rule.active = kind, Decimal(value), unit, True
    rule.full_clean(validate_constraints=False)
    rule.save()
    return rule


def apply_step_rule(
    *,
    rule: RewardRule,
    customer: Customer,
    touch_id: int,
    reason: str,
    given_at: datetime | None = None,
    now: datetime | None = None,
) -> Reward | None:
    """Grant what a step's rule gives for one touch sent, once per touch (its source key)."""
    if not rule.active:
        return None
    return grant(
        customer=customer,
        value=rule.value,
        unit=rule.unit,
        kind=rule.kind,
        cause=Reward.Cause.GIFT_STEP,
        reason=reason,
        source_key=f"touch:{touch_id}",
        given_at=given_at,
        now=now,
    )


def apply_rule(
    *, event: str, customer: Customer, source: str, now: datetime | None = None
) -> Reward | None:
    """Grant what the active rule for `event` gives, once per event and source (e.g. a referral
    converting twice earns once). None when no rule is set."""
    if event == RewardRule.Event.STEP_SENT:
        raise ValueError("A step's rule is applied per touch: apply_step_rule.")
    rule = RewardRule.objects.filter(event=event, active=True).first()
    if rule is None:
        return None
    return grant(
        customer=customer,
        value=rule.value,
        unit=rule.unit,
        cause=EVENT_CAUSES[RewardRule.Event(event)],
        **said(gettext_noop("%(event)s"), field="reason", event=choice("reward_event", event)),
        source_key=f"{event}:{source}",
        now=now,
    )


def _lock(customer: Customer) -> None:
    # Every ledger write of one customer waits for the others: each decides on the whole
    # ledger as written, and the order of the ids is the order of the decisions.
    list(Customer.objects.select_for_update().filter(pk=customer.pk).values_list("pk"))


def _written(source_key: str) -> Reward | None:
    return Reward.objects.filter(source_key=source_key).first() if source_key else None


def _write(entry: Reward, *, line: dict) -> Reward:
    _clean(entry)
    if not entry.source_key:
        entry.save()
    else:
        try:
            with transaction.atomic():
                entry.save()
        except IntegrityError:
            # The key was written before (the same event again): the first line stands.
            if existing := _written(entry.source_key):
                return existing
            raise
    timeline.note_on_timeline(
        customer=entry.customer,
        kind=TimelineEntry.Kind.REWARD,
        **line,
        actor=entry.author,
        occurred_at=entry.given_at,
        source_id=entry.pk,
    )
    announce.reward_written(entry)
    return entry


def _clean(entry: Reward) -> None:
    # The database checks the constraints (the sign, the key) itself; asking it first would
    # cost a query per constraint per line.
    entry.full_clean(
        exclude=["customer", "applies_to", "author"],
        validate_unique=False,
        validate_constraints=False,
    )


def _lines(customer_id: int, unit: str) -> list[purse.Line]:
    return [
        purse.Line(*row)
        for row in Reward.objects.filter(customer_id=customer_id, unit=unit)
        .order_by("id")
        .values_list("id", "movement", "value", "given_at", "expires_at", "applies_to_id")
    ]


def _earned_line(entry: Reward) -> dict:
    what = choice("reward_kind", entry.kind) if entry.kind else choice("reward_cause", entry.cause)
    reason = quoted(key=entry.reason_key, args=entry.reason_args, text=entry.reason)
    if not entry.value:
        return said(gettext_noop("%(what)s: %(reason)s"), what=what, reason=reason)
    return said(
        gettext_noop("%(what)s: %(reason)s (%(value)s %(unit)s)"),
        what=what,
        reason=reason,
        value=entry.value,
        unit=choice("reward_unit", entry.unit),
    )
