"""The customers demo: customers with two years of history, as an account manager's team would
have built it (the people to sign in as come from bonding/demo.py). Who they are is decided
here, what happened to them in demo_history.py; every row of that history is written by the
customers service that owns it, on a clock moved to when it happened."""

import random
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from django.contrib.auth.models import AbstractBaseUser, User
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from customers import activity, contracts, placement, records, referrals, rewards, valuation
from customers.demo_history import (
    ACCOUNTS,
    CONSENT_SOURCES,
    FIRST_NAMES,
    LAST_NAMES,
    PARTNER_ACCOUNTS,
    PLACES,
    PROSPECT_PERSONAS,
    RETAIL_MIX,
    Event,
    Person,
    ascii_name,
    history,
)
from customers.models import (
    Account,
    Audience,
    Channel,
    Complaint,
    Contract,
    Customer,
    FollowUp,
    Referral,
    Relationship,
    RewardRule,
    Tier,
)

DEMO_PREFIX = "demo-"
HISTORY_DAYS = 730
# The ladder and bond rules close each month of the history (the nightly refresh, slowed down).
MONTH_DAYS = 30


@transaction.atomic
def seed_customers(*, count: int = 300, seed: int = 7) -> int:
    """Create `count` demo customers with two years of history; 0 if they are already there."""
    if Customer.objects.filter(external_id__startswith=DEMO_PREFIX).exists():
        return 0
    rng = random.Random(seed)
    now = timezone.now()
    today = timezone.localdate(now)
    users = {u.username: u for u in User.objects.filter(username__in=("manager", "manager2"))}
    managers = [users[name] for name in ("manager", "manager2") if name in users]
    people = _cast(rng, count=count, today=today, managers=managers)
    for person in people:
        _create(person, now=now)
    # Referrals pay both sides through the rules, as an install would set them.
    rewards.set_rule(event=RewardRule.Event.REFERRAL_CONVERTED, value=Decimal(20))
    rewards.set_rule(event=RewardRule.Event.FRIEND_FIRST_PURCHASE, value=Decimal(10))
    events = history(rng, people, now=now, managers=managers)
    _replay(events, people=people, start=today - timedelta(days=HISTORY_DAYS), now=now)
    valuation.refresh_everyone(today=today)
    _finish(rng, users=users, today=today)
    return len(people)


def _cast(rng: random.Random, *, count: int, today: date, managers: list[User]) -> list[Person]:
    """Decide who the demo customers are: companies and their people, partners, retail."""
    roles: list[tuple[str, Account | None, str, str]] = []  # persona, account, domain, kind
    n_accounts = min(len(ACCOUNTS), max(1, count // 40))
    for index, (name, domain, industry) in enumerate(ACCOUNTS[:n_accounts]):
        account = records.save_account(
            account=Account(),
            data={
                "name": name,
                "website": f"https://www.{domain}",
                "industry": industry,
                "owner": managers[index % len(managers)] if managers else None,
            },
        )
        if name == "Quarry Lane School":
            roles += [("b2b_prospect", account, domain, "")] * 2
            continue
        size = rng.randint(2, 5)
        roles += [("b2b_client", account, domain, ""), ("b2b_buyer", account, domain, "")]
        roles += [("b2b_contact", account, domain, "")] * (size - 2)
    for name, domain, kind in PARTNER_ACCOUNTS[: min(3, max(1, count // 100))]:
        account = records.save_account(
            account=Account(),
            data={"name": name, "website": f"https://www.{domain}", "industry": "Reseller"},
        )
        roles += [("partner", account, domain, kind)] * rng.randint(1, 3)
    roles += [("internal", None, "bonding.example", "")] * (2 if count >= 100 else 1)
    retail = [RETAIL_MIX[i % len(RETAIL_MIX)] for i in range(max(0, count - len(roles)))]
    roles += [(persona, None, "", "") for persona in retail]
    rng.shuffle(roles)
    roles = roles[:count]

    names = rng.sample(range(len(FIRST_NAMES) * len(LAST_NAMES)), min(count, 6000))
    emails: set[str] = set()
    phones: dict[str, int] = defaultdict(int)
    people = []
    for number, (persona, account, domain, partner_kind) in enumerate(roles, start=1):
        name = names[(number - 1) % len(names)]
        first, last = FIRST_NAMES[name % len(FIRST_NAMES)], LAST_NAMES[name // len(FIRST_NAMES)]
        person = Person(
            number=number,
            persona=persona,
            joined=_joined(rng, persona, today),
            data={},
            owner=_owner(rng, account, managers),
        )
        if persona == "lapsed":
            person.stop = today - timedelta(days=rng.randint(380, 520))
        elif persona == "slipping":
            person.stop = today - timedelta(days=rng.randint(120, 240))
        person.data = _contact(
            rng,
            person,
            first=first,
            last=last,
            account=account,
            domain=domain or rng.choice(("example.com", "example.net", "example.org")),
            partner_kind=partner_kind,
            emails=emails,
            phones=phones,
        )
        people.append(person)
    return people


def _joined(rng: random.Random, persona: str, today: date) -> date:
    earliest, latest = {
        "prospect": (700, 0),
        "one_time": (700, 3),
        "occasional": (720, 150),
        "regular": (720, 300),
        "loyal": (730, 400),
        "lapsed": (730, 600),
        "slipping": (700, 350),
        "b2b_client": (730, 365),
        "b2b_buyer": (730, 200),
        "b2b_contact": (500, 20),
        "b2b_prospect": (120, 10),
        "partner": (730, 200),
        "internal": (730, 600),
    }[persona]
    return today - timedelta(days=rng.randint(latest, earliest))


def _owner(rng: random.Random, account: Account | None, managers: list[User]) -> User | None:
    if account is not None and account.owner is not None:
        return account.owner
    if not managers or rng.random() < 0.1:
        return None
    return rng.choice(managers)


def _contact(
    rng: random.Random,
    person: Person,
    *,
    first: str,
    last: str,
    account: Account | None,
    domain: str,
    partner_kind: str,
    emails: set[str],
    phones: dict[str, int],
) -> dict:
    """The customer's fields as a person would type them into the form."""
    place = rng.choices(PLACES, weights=[p.weight for p in PLACES])[0]
    local = f"{ascii_name(first)}.{ascii_name(last)}"
    email = f"{local}@{domain}"
    while email in emails:
        email = f"{local}{rng.randint(2, 99)}@{domain}"
    emails.add(email)
    phone = ""
    if rng.random() < 0.85:
        low, high = place.phone_range
        phone = place.phone.format(low + phones[place.phone] % (high - low))
        phones[place.phone] += 1
    address = ""
    if rng.random() < 0.6:
        address = f"{rng.randint(1, 240)} {rng.choice(place.streets)}\n{place.city}"
    persona = person.persona
    business = account is not None or persona == "internal"
    usable = [Channel.EMAIL] + [Channel.SMS, Channel.PHONE] * bool(phone)
    usable += [Channel.LETTER] * bool(address)
    weights = {Channel.EMAIL: 55, Channel.SMS: 20, Channel.PHONE: 15, Channel.LETTER: 10}
    preferred = rng.choices(usable, weights=[weights[c] for c in usable])[0]
    likely = 0.6 if persona in PROSPECT_PERSONAS else 0.9
    consents = {c: c in usable and rng.random() < 0.3 for c in Channel.values}
    consents[preferred] = rng.random() < likely
    relationship = {
        "prospect": Relationship.PROSPECT,
        "b2b_prospect": Relationship.PROSPECT,
        "partner": Relationship.CHANNEL_PARTNER,
        "internal": Relationship.INTERNAL_SALES,
    }.get(persona, Relationship.CUSTOMER)  # people at a client company count as customers
    return {
        "external_id": f"{DEMO_PREFIX}{person.number}",
        "first_name": first,
        "last_name": last,
        "email": email,
        "phone": phone,
        "postal_address": address,
        "account": account,
        "audience": Audience.B2B if business else Audience.RETAIL,
        "relationship": relationship,
        "partner_kind": partner_kind,
        "owner": person.owner,
        "timezone": place.timezone if rng.random() < 0.85 else "",
        "preferred_channel": preferred,
        "estimated_wallet": _wallet(rng, persona),
        **{f"consent_{channel}": granted for channel, granted in consents.items()},
        "consent_source": rng.choice(CONSENT_SOURCES),
    }


def _wallet(rng: random.Random, persona: str) -> Decimal | None:
    if persona == "internal" or (persona in PROSPECT_PERSONAS and rng.random() < 0.5):
        return None
    low, high, step = {
        "loyal": (1500, 8000, 100),
        "b2b_client": (20000, 150000, 1000),
        "b2b_buyer": (10000, 80000, 1000),
        "b2b_contact": (10000, 60000, 1000),
        "b2b_prospect": (10000, 60000, 1000),
        "partner": (50000, 400000, 5000),
    }.get(persona, (300, 4000, 50))
    return Decimal(rng.randrange(low, high, step))


def _create(person: Person, *, now: datetime) -> None:
    """Create the customer through the service, on the morning they joined."""
    data = dict(person.data)
    source = data.pop("consent_source")
    joined = min(timezone.make_aware(datetime.combine(person.joined, time(7, 30))), now)
    person.customer = records.create_customer(
        data=data, by=person.owner, consent_source=source, now=joined
    )


def _replay(events: list[Event], *, people: list[Person], start: date, now: datetime) -> None:
    """Play the history through the services in the order it happened, each on its own clock;
    a day's purchases and interactions are logged together after the last of them, and each
    month is closed by the ladder and bond rules run as of its last evening (the services that
    refresh a customer place them at once)."""
    today = timezone.localdate(now)
    day = _Day()
    written: dict[int, Any] = {}  # id(planned row) -> the row the service wrote
    index = 0
    end = start
    while end < today:
        end = min(end + timedelta(days=MONTH_DAYS), today)
        while index < len(events) and timezone.localdate(events[index].at) <= end:
            event = events[index]
            index += 1
            if event.kind in ("purchase", "interaction"):
                if day.events and timezone.localdate(day.events[-1].at) != timezone.localdate(
                    event.at
                ):
                    day.log()
                day.events.append(event)
                continue
            day.log()  # what follows may need it: a follow-up to finish, facts to place by
            _apply(event, written)
        day.log()
        evening = min(timezone.make_aware(datetime.combine(end, time(23, 30))), now)
        placement.place_customers(
            customers=[p.customer for p in people if p.joined <= end and p.customer], now=evening
        )


@dataclass
class _Day:
    """The purchases and interactions of one day, logged through the batch services at once."""

    events: list[Event] = field(default_factory=list)

    def log(self) -> None:
        purchases = [e.row for e in self.events if e.kind == "purchase"]
        interactions = [e.row for e in self.events if e.kind == "interaction"]
        if purchases:
            # On the day's clock: a friend's first purchase converts their referral then.
            moment = max(e.at for e in self.events if e.kind == "purchase")
            activity.record_purchases(purchases=purchases, now=moment)
        if interactions:
            activity.log_interactions(
                interactions=interactions, now=max(i.occurred_at for i in interactions)
            )
        self.events.clear()


def _apply(event: Event, written: dict[int, Any]) -> None:
    """One event through the service that owns it, on a clock moved to when it happened."""
    row: Any = event.row
    at = event.at
    match event.kind:
        case "complaint":
            written[id(row)] = activity.open_complaint(
                customer=row.customer,
                by=row.owner,
                category=row.category,
                description=row.description,
                severity=row.severity,
                owner=row.owner,
                now=at,
            )
        case "resolve":
            activity.resolve_complaint(
                complaint=written[id(row)],
                by=row.owner,
                resolution=event.extra["resolution"],
                now=at,
            )
        case "contract":
            written[id(row)] = contracts.add_contract(
                customer=row.customer,
                title=row.title,
                starts_on=row.starts_on,
                ends_on=row.ends_on,
                value=row.value,
                now=at,
            )
        case "renewed":
            contracts.settle_renewal(
                contract=written[id(row)], status=event.extra["status"], now=at
            )
        case "referral":
            written[id(row)] = activity.record_referral(
                referrer=row.referrer,
                referred_name=row.referred_name,
                referred_email=row.referred_email,
                now=at,
            )
        case "signup":
            referral, friend = written[id(row)], event.extra["friend"]
            referrals.link_friend(referral=referral, friend=friend, now=at)
            # The manager thanked the referrer the next day, as the follow-up asks.
            thanked = at + timedelta(days=1)
            if thanked < timezone.now():
                for follow_up in FollowUp.objects.filter(
                    customer=referral.referrer, source="referral", done_at__isnull=True
                ):
                    activity.complete_follow_up(
                        follow_up=follow_up, by=follow_up.assignee, now=thanked
                    )
        case "convert":
            activity.convert_referral(
                referral=written[id(row)], referred_customer=event.extra["friend"], now=at
            )
        case "reward":
            activity.give_reward(
                customer=row.customer,
                kind=row.kind,
                reason=row.reason,
                value=row.value,
                given_at=at,
            )
        case "follow_up_done":
            # The follow-up log_interactions scheduled for this interaction.
            follow_up = (
                FollowUp.objects.filter(
                    customer=row.customer,
                    source="interaction",
                    due_at__date=row.follow_up_on,
                    done_at__isnull=True,
                )
                .select_related("customer")
                .order_by("pk")
                .first()
            )
            if follow_up is not None:
                activity.complete_follow_up(follow_up=follow_up, by=event.extra["by"], now=at)


def _finish(rng: random.Random, *, users: dict[str, User], today: date) -> None:
    """Today's work: follow-ups due for each account manager, a tier set by hand, opt-outs."""
    demo = Customer.objects.filter(external_id__startswith=DEMO_PREFIX).select_related(
        "tier", "highest_tier", "owner"
    )
    for username, slots in (
        ("manager", (-6, -3, -1, 0, 0, 0, 1, 2, 3, 5, 6, 12, 20)),
        ("manager2", (-4, -1, 0, 0, 2, 4, 9)),
    ):
        if username in users:
            _due_follow_ups(rng, users[username], demo, slots=slots, today=today)
    manager = users.get("manager")
    held = demo.filter(owner=manager, tier__slug="repeat").order_by("pk").first()
    client = Tier.objects.filter(slug="client").first()
    if manager and held and client:
        placement.set_tier(
            customer=held,
            tier=client,
            by=manager,
            reason="Framework agreement signed; the first order is expected next month.",
        )
    opted_out = list(demo.filter(consent_email=True).order_by("pk")[5:40:12])
    for customer in opted_out:
        records.set_consent(
            customer=customer, channel=Channel.EMAIL, granted=False, source="unsubscribe link"
        )
    caller = demo.filter(consent_phone=True, owner__isnull=False).order_by("-pk").first()
    if caller:
        records.set_consent(
            customer=caller,
            channel=Channel.PHONE,
            granted=False,
            source="asked on the phone not to be called",
            by=caller.owner,
        )


def _due_follow_ups(
    rng: random.Random,
    user: AbstractBaseUser,
    demo: QuerySet[Customer],
    *,
    slots: tuple[int, ...],
    today: date,
) -> None:
    """A manager's to-do list: overdue, due today and coming up, each for a reason that is true."""
    mine = demo.filter(owner=user, deleted_at__isnull=True)
    work: list[tuple[Customer, str, str]] = []
    for complaint in Complaint.objects.filter(
        customer__in=mine, status=Complaint.Status.OPEN
    ).select_related("customer")[:3]:
        work.append(
            (
                complaint.customer,
                f"Call back about the open complaint: {complaint.category}",
                "complaint",
            )
        )
    soon = today + timedelta(days=90)
    for contract in Contract.objects.filter(
        customer__in=mine, ends_on__range=(today, soon), renewal_status=Contract.Renewal.PENDING
    ).select_related("customer")[:3]:
        work.append(
            (
                contract.customer,
                f"Renewal talk: {contract.title} ends on {contract.ends_on:%d %b %Y}",
                "renewal",
            )
        )
    for customer in mine.filter(last_purchase_on__isnull=False).order_by("-churn_risk", "pk")[:3]:
        work.append(
            (
                customer,
                f"Win-back call: no purchase since {customer.last_purchase_on:%d %b %Y}",
                "call",
            )
        )
    for customer in mine.filter(first_purchase_on__gte=today - timedelta(days=45))[:2]:
        work.append((customer, "Check in after the first purchase", "call"))
    for customer in mine.filter(referrals__status=Referral.Status.CONVERTED).distinct()[:2]:
        work.append((customer, "Thank them in person for the referral", "call"))
    for customer in mine.order_by("pk")[: max(0, len(slots) - len(work))]:
        work.append((customer, "Quarterly check-in call", "call"))
    for (customer, reason, source), days in zip(work, slots, strict=False):
        hour = rng.choice((9, 10, 11, 14, 15, 16))
        activity.schedule_follow_up(
            customer=customer,
            assignee=user,
            due_at=timezone.make_aware(datetime.combine(today + timedelta(days=days), time(hour))),
            reason=reason,
            source=source,
        )
