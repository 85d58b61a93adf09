"""Reads about customers: who may see whom, lists, the 360 page, My day, duplicates, the ladder."""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal

from django.contrib.auth.models import AbstractBaseUser
from django.db.models import Count, Exists, Max, OuterRef, Q, QuerySet, Sum
from django.shortcuts import get_object_or_404
from django.utils import timezone

from customers import rule_facts, standing
from customers.models import (
    Complaint,
    ConsentChange,
    Customer,
    FollowUp,
    ListColumns,
    Referral,
    Reward,
    Segment,
    SegmentCount,
    Tier,
    TierChange,
    TimelineEntry,
    ValueAnswer,
)
from customers.roles import ACCOUNT_MANAGERS, MARKETERS
from customers.sayings import translated


def roles_of(user: AbstractBaseUser) -> frozenset[str]:
    """The user's role groups, looked up once per user object."""
    if not user.is_authenticated:
        return frozenset()
    if not hasattr(user, "_bonding_roles"):
        user._bonding_roles = frozenset(
            user.groups.filter(name__in=(MARKETERS, ACCOUNT_MANAGERS)).values_list(
                "name", flat=True
            )
        )
    return user._bonding_roles


def has_role(user: AbstractBaseUser) -> bool:
    """Admins, marketers and account managers; a signed-in user with no role may only sign out."""
    return user.is_authenticated and (user.is_staff or bool(roles_of(user)))


def sees_everyone(user: AbstractBaseUser) -> bool:
    """Admins and marketers see every customer; account managers only their own."""
    return user.is_authenticated and (user.is_staff or MARKETERS in roles_of(user))


def is_marketer(user: AbstractBaseUser) -> bool:
    return sees_everyone(user)


def is_account_manager(user: AbstractBaseUser) -> bool:
    return ACCOUNT_MANAGERS in roles_of(user)


def visible_customers(user: AbstractBaseUser) -> QuerySet[Customer]:
    """The live customers this user may see and change."""
    live = Customer.objects.filter(deleted_at__isnull=True)
    if sees_everyone(user):
        return live
    if is_account_manager(user):
        return live.filter(owner=user)
    return live.none()


def deleted_customers(user: AbstractBaseUser) -> QuerySet[Customer]:
    """Tombstones the user may learn of: their own deleted customers, or all for marketers."""
    gone = Customer.objects.filter(deleted_at__isnull=False)
    if sees_everyone(user):
        return gone
    if is_account_manager(user):
        return gone.filter(owner=user)
    return gone.none()


def customer_for(user: AbstractBaseUser, pk: int) -> Customer:
    """One customer the user may see, or 404 (the same answer as for one that does not exist)."""
    return get_object_or_404(
        visible_customers(user).select_related("tier", "highest_tier", "owner", "account"), pk=pk
    )


def with_open_complaints(customers: QuerySet[Customer]) -> QuerySet[Customer]:
    return customers.filter(
        Exists(Complaint.objects.filter(customer=OuterRef("pk"), status=Complaint.Status.OPEN))
    )


def customer_rows(customers: QuerySet[Customer]) -> QuerySet[Customer]:
    """What a list of customers shows, fetched in the list's one query."""
    return customers.select_related("tier", "owner", "account").only(
        "id",
        "first_name",
        "last_name",
        "email",
        "phone",
        "audience",
        "relationship",
        "lifetime_value",
        "share_of_wallet",
        "churn_risk",
        "churn_reasons",
        "nps_latest",
        "bond_stage",
        "tier__name",
        "tier__slug",
        "tier__colour",
        "owner__username",
        "owner__first_name",
        "owner__last_name",
        "account__name",
    )


@dataclass(frozen=True)
class Page:
    """A page of rows without counting the whole table (counts are slow on big tables)."""

    rows: list
    number: int
    has_next: bool

    @property
    def has_previous(self) -> bool:
        return self.number > 1


# Past any real list; keeps (number - 1) * size well inside PostgreSQL's bigint OFFSET.
MAX_PAGE = 1_000_000


def page_of(queryset: QuerySet, *, number: int, size: int) -> Page:
    """Rows of page `number` (1-based), fetching one extra row to learn whether more follow."""
    number = min(max(number, 1), MAX_PAGE)
    start = (number - 1) * size
    rows = list(queryset[start : start + size + 1])
    return Page(rows=rows[:size], number=number, has_next=len(rows) > size)


def page_across(groups: list[QuerySet], *, number: int, size: int) -> Page:
    """Page `number` of the rows of `groups` read one after the other (a search's best matches,
    then the rest), asking each group only for the rows the page still lacks."""
    number = min(max(number, 1), MAX_PAGE)
    skip = (number - 1) * size  # rows of earlier pages not yet passed over
    wanted = size + 1
    rows: list = []
    for group in groups:
        found = list(group[skip : skip + wanted - len(rows)])
        if found or not skip:
            rows += found
            skip = 0
        else:
            # Earlier pages hold this whole group.
            skip -= group.count()
        if len(rows) == wanted:
            break
    return Page(rows=rows[:size], number=number, has_next=len(rows) > size)


def timeline(customer: Customer, *, number: int = 1, size: int = 25) -> Page:
    """The customer's timeline, newest first: every event from every app in one list."""
    entries = TimelineEntry.objects.filter(customer=customer).select_related("actor")
    return page_of(entries.order_by("-occurred_at", "-id"), number=number, size=size)


def last_timeline_id(customer: Customer) -> int:
    """The newest timeline entry's id, to tell later what a write added."""
    return TimelineEntry.objects.filter(customer=customer).aggregate(last=Max("id"))["last"] or 0


def timeline_since(customer: Customer, *, after_id: int) -> list[TimelineEntry]:
    """Entries added after `after_id`, newest first (what one quick action wrote)."""
    return list(
        TimelineEntry.objects.filter(customer=customer, id__gt=after_id)
        .select_related("actor")
        .order_by("-occurred_at", "-id")
    )


def tier_history(customer: Customer, *, limit: int = 10) -> list[TierChange]:
    return list(customer.tier_changes.select_related("from_tier", "to_tier", "changed_by")[:limit])


def latest_consents(customer: Customer) -> dict[str, ConsentChange]:
    """For each channel, the most recent record of consent given or withdrawn."""
    latest: dict[str, ConsentChange] = {}
    for change in customer.consent_changes.order_by("-changed_at", "-id")[:50]:
        latest.setdefault(change.channel, change)
    return latest


def open_follow_ups(customer: Customer) -> list[FollowUp]:
    return list(customer.follow_ups.filter(done_at__isnull=True).select_related("assignee")[:20])


def referrals_of(customer: Customer, *, limit: int = 20) -> list[Referral]:
    """The referral that brought this customer, if any, and those they made, newest first:
    with each one's state (invited, signed up, converted, expired)."""
    return list(
        Referral.objects.filter(Q(referrer=customer) | Q(referred_customer=customer))
        .select_related("referrer", "referred_customer")
        .order_by("-created_at", "-id")[:limit]
    )


def open_complaints(customer: Customer, *, limit: int = 20) -> list[Complaint]:
    return list(
        customer.complaints.filter(status=Complaint.Status.OPEN).select_related("owner")[:limit]
    )


@dataclass(frozen=True)
class MyDay:
    """An account manager's day: what is due, who is slipping away, what went wrong lately."""

    due: list[FollowUp]
    upcoming: list[FollowUp]
    at_risk: list[Customer]
    complaints: list[Complaint]
    # Customers whose review found them short of their rung: soonest end of grace first.
    dropping: list[Customer]


def my_day(user: AbstractBaseUser, *, today: date | None = None) -> MyDay:
    """Follow-ups due today or overdue, my riskiest customers and my recent complaints."""
    today = today or timezone.localdate()
    end_of_today = timezone.make_aware(datetime.combine(today + timedelta(days=1), time.min))
    mine = FollowUp.objects.filter(
        assignee=user, done_at__isnull=True, customer__deleted_at__isnull=True
    ).select_related("customer")
    customers = visible_customers(user)
    if sees_everyone(user):
        customers = customers.filter(owner=user)
    return MyDay(
        due=list(mine.filter(due_at__lt=end_of_today).order_by("due_at", "id")[:50]),
        upcoming=list(
            mine.filter(
                due_at__gte=end_of_today, due_at__lt=end_of_today + timedelta(days=7)
            ).order_by("due_at", "id")[:20]
        ),
        at_risk=list(customer_rows(customers).order_by("-churn_risk", "id")[:10]),
        # Open complaints the user owns (the partial index complaint_open_owner answers it).
        complaints=list(
            Complaint.objects.filter(
                owner=user, status=Complaint.Status.OPEN, customer__deleted_at__isnull=True
            )
            .select_related("customer")
            .order_by("-opened_at", "-id")[:10]
        ),
        dropping=list(
            customers.filter(tier_at_risk_until__isnull=False)
            .select_related("tier")
            .order_by("tier_at_risk_until", "id")[:20]
        ),
    )


def ladder_counts() -> list:
    """Every rung, bottom first, with how many live customers stand on it."""
    from customers.models import Tier

    return list(
        Tier.objects.annotate(
            customer_count=Count("customers", filter=Q(customers__deleted_at__isnull=True))
        ).order_by("rank")
    )


@dataclass(frozen=True)
class DuplicateGroup:
    """Customers that are probably one person, and why we think so."""

    reason: str
    key: str
    customers: list[Customer]


def probable_duplicates(*, limit: int = 50) -> list[DuplicateGroup]:
    """Groups of likely duplicates: a live customer with the e-mail of a deleted (not merged)
    record, the same phone, or the same name within one account. A fixed number of queries."""
    from django.db.models.functions import Lower

    live = Customer.objects.filter(deleted_at__isnull=True)
    # (reason, key, what to fetch, which fetched customers belong to the group)
    groups: list[tuple[str, str, Q, Callable[[Customer], bool]]] = []
    deleted_emails = (
        Customer.objects.filter(deleted_at__isnull=False, merged_into__isnull=True)
        .exclude(email="")
        .values("email")
    )
    emails = live.filter(email__in=deleted_emails).order_by("email")
    for email in emails.values_list("email", flat=True)[:limit]:
        groups.append(
            (
                "Same e-mail as a deleted record",
                email,
                Q(email=email, merged_into__isnull=True),
                lambda c, email=email: c.email == email,
            )
        )
    phones = live.exclude(phone="").values("phone").annotate(n=Count("id")).filter(n__gt=1)
    for phone in phones.order_by("phone").values_list("phone", flat=True)[:limit]:
        groups.append(
            (
                "Same phone",
                phone,
                Q(phone=phone, deleted_at__isnull=True),
                lambda c, phone=phone: c.phone == phone and c.deleted_at is None,
            )
        )
    names = (
        live.filter(account__isnull=False)
        .annotate(first=Lower("first_name"), last=Lower("last_name"))
        .exclude(first="", last="")
        .values("account_id", "first", "last")
        .annotate(n=Count("id"))
        .filter(n__gt=1)
        .order_by("account_id", "last", "first")
    )
    for account_id, first, last in names.values_list("account_id", "first", "last")[:limit]:
        groups.append(
            (
                "Same name in one account",
                f"{first} {last}".strip(),
                Q(
                    account_id=account_id,
                    first_name__iexact=first,
                    last_name__iexact=last,
                    deleted_at__isnull=True,
                ),
                lambda c, key=(account_id, first, last): (
                    c.deleted_at is None
                    and (c.account_id, c.first_name.lower(), c.last_name.lower()) == key
                ),
            )
        )
    groups = groups[:limit]
    if not groups:
        return []
    wanted = Q()
    for _, _, condition, _ in groups:
        wanted |= condition
    members = list(
        Customer.objects.filter(wanted)
        .select_related("tier", "owner", "account")
        .order_by("deleted_at", "created_at", "id")
    )
    result = []
    for reason, key, _, belongs in groups:
        matching = [customer for customer in members if belongs(customer)]
        if len(matching) > 1:
            result.append(DuplicateGroup(reason=reason, key=key, customers=matching))
    return result


def tier_taking_over(tier: Tier) -> Tier | None:
    """The rung a removed rung's customers move to: the next one down, or up at the bottom;
    None when it is the only rung."""
    below = Tier.objects.filter(rank__lt=tier.rank).exclude(pk=tier.pk).order_by("-rank").first()
    return below or Tier.objects.exclude(pk=tier.pk).order_by("rank").first()


def tier_removal(tier: Tier) -> tuple[int, Tier | None]:
    """What removing a rung would do: how many customers it holds, and where they would go."""
    return Customer.objects.filter(tier=tier).count(), tier_taking_over(tier)


def dropping_count(user: AbstractBaseUser, *, owner_id: int | None, audience: str) -> int:
    """How many customers the user sees are at risk of dropping a tier (the dashboard's count),
    within its owner and audience filters."""
    customers = visible_customers(user).filter(tier_at_risk_until__isnull=False)
    if owner_id is not None:
        customers = customers.filter(owner_id=owner_id)
    if audience:
        customers = customers.filter(audience=audience)
    return customers.count()


@dataclass(frozen=True)
class LadderStatus:
    """Where a customer stands on the ladder and what it takes to climb or to stay."""

    tier: Tier | None
    next_tier: Tier | None
    to_next: list[str]
    review_on: date | None
    at_risk: bool
    at_risk_until: date | None
    to_keep: list[str]


def ladder_status(
    customer: Customer, *, today: date | None = None, tiers: list[Tier] | None = None
) -> LadderStatus:
    """The customer's rung, the next one and what is missing for it, the review date and, while
    at risk, what keeps the rung: the rungs (unless given, bottom first) and the rules' facts.
    What is missing reads in the active language."""
    today = today or timezone.localdate()
    tiers = list(Tier.objects.order_by("rank")) if tiers is None else tiers
    facts = rule_facts.gather_facts([customer], today=today)[customer.pk].ladder
    position = next((i for i, t in enumerate(tiers) if t.pk == customer.tier_id), None)
    tier = tiers[position] if position is not None else None
    above = tiers[position + 1 :] if position is not None else tiers
    next_tier = above[0] if above else None
    at_risk = customer.tier_at_risk_until is not None
    rules = rule_facts.ladder_thresholds()
    return LadderStatus(
        tier=tier,
        next_tier=next_tier,
        to_next=(
            [
                translated(line)
                for line in standing.requirements(
                    facts=facts, slug=next_tier.slug, thresholds=rules
                )
            ]
            if next_tier
            else []
        ),
        review_on=customer.tier_review_on,
        at_risk=at_risk,
        at_risk_until=customer.tier_at_risk_until,
        to_keep=(
            [
                translated(line)
                for line in standing.requirements(facts=facts, slug=tier.slug, thresholds=rules)
            ]
            if at_risk and tier
            else []
        ),
    )


@dataclass(frozen=True)
class RewardLedger:
    """A customer's reward balance per unit (the sum of its lines) and the latest lines."""

    balances: dict[str, Decimal]
    entries: list[Reward]

    @property
    def reversible(self) -> set[int]:
        """The listed earned lines with something to take back and no reversal yet (a reversal
        is newer than its line, so it is listed when the line is)."""
        reversed_ids = {e.applies_to_id for e in self.entries if e.movement == "reversed"}
        return {
            e.pk
            for e in self.entries
            if e.movement == "earned" and e.value > 0 and e.pk not in reversed_ids
        }


def reward_ledger(customer: Customer, *, latest: int = 50) -> RewardLedger:
    """The balances and the latest lines of the customer's reward ledger, in two queries."""
    sums = (
        Reward.objects.filter(customer=customer)
        .values("unit")
        .annotate(total=Sum("value"))
        .order_by("unit")
        .values_list("unit", "total")
    )
    entries = list(customer.rewards.select_related("author")[:latest])
    return RewardLedger(balances=dict(sums), entries=entries)


def value_answers_of(customer: Customer, *, limit: int = 6) -> list[ValueAnswer]:
    """The customer's latest answers to the preference center's value questions."""
    return list(customer.value_answers.order_by("-answered_at", "-id")[:limit])


def value_answers(
    *, question: str | None = None, search: str | None = None, number: int = 1, size: int = 20
) -> Page:
    """What customers told us they value (or want more or less of), newest first, one page;
    every word searched must appear, as in the survey verbatims."""
    answers = ValueAnswer.objects.filter(customer__deleted_at__isnull=True)
    if question:
        answers = answers.filter(question=question)
    for term in (search or "").split()[:5]:
        answers = answers.filter(text__icontains=term)
    answers = answers.select_related("customer").only(
        "id",
        "question",
        "text",
        "answered_at",
        "customer__id",
        "customer__first_name",
        "customer__last_name",
        "customer__email",
    )
    return page_of(answers.order_by("-answered_at", "-id"), number=number, size=size)


# Counting past this many customers of a filter would be slow at a million: the list says
# "more than 10,000" instead.
COUNT_BOUND = 10_000


def bounded_count(queryset: QuerySet, bound: int = COUNT_BOUND) -> int:
    """The number of rows, exactly up to `bound`; `bound + 1` means "more than `bound`"."""
    return queryset.order_by()[: bound + 1].count()


def segments_for(user: AbstractBaseUser) -> QuerySet[Segment]:
    """The segments a user may use: their own; marketers and admins use everyone's."""
    segments = Segment.objects.select_related("owner").order_by("name", "id")
    if sees_everyone(user):
        return segments
    if is_account_manager(user):
        return segments.filter(owner=user)
    return segments.none()


def segment_for(user: AbstractBaseUser, pk: int) -> Segment:
    """One segment the user may use, or 404."""
    return get_object_or_404(segments_for(user), pk=pk)


def segment_trends(segments: list[Segment], days: int = 14) -> dict[int, list[int]]:
    """Each segment's daily counts of the last `days` days, oldest first, in one query."""
    since = timezone.localdate() - timedelta(days=days - 1)
    trends: dict[int, list[int]] = {segment.pk: [] for segment in segments}
    rows = SegmentCount.objects.filter(segment__in=segments, day__gte=since).order_by("day")
    for segment_id, customers in rows.values_list("segment_id", "customers"):
        trends[segment_id].append(customers)
    return trends


# The customer list's columns a user may hide (the name always shows), in the list's order.
LIST_COLUMNS = {
    "account": "Account",
    "tier": "Tier",
    "bond": "Bond",
    "owner": "Owner",
    "lifetime_value": "Lifetime value",
    "share_of_wallet": "Share of wallet",
    "nps": "NPS",
    "churn_risk": "Churn risk",
}


def list_columns(user: AbstractBaseUser) -> list[str]:
    """The columns the user chose for the customer list; all of them until they choose."""
    chosen = ListColumns.objects.filter(user_id=user.pk).values_list("columns", flat=True).first()
    return list(LIST_COLUMNS) if chosen is None else [c for c in LIST_COLUMNS if c in chosen]
