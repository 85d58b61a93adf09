"""What happened to the demo customers over two years, as dated events: purchases, calls and
visits, complaints and their resolutions, contracts and renewals, referrals and rewards.
customers/demo.py plays them through the services in the order they happened. The names,
places, catalogues and words come from demo_people.json."""

import json
import random
import unicodedata
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from pathlib import Path

from django.contrib.auth.models import User
from django.utils import timezone

from customers.models import (
    Audience,
    Complaint,
    Contract,
    Customer,
    Interaction,
    Purchase,
    Referral,
    Reward,
)

# Follow-ups asked for in the last fortnight are still open; older ones were done.
RECENT_DAYS = 14


@dataclass(frozen=True)
class _Place:
    """Where a demo customer lives: a time zone, a fictional phone range and an address."""

    timezone: str
    phone: str  # a format for numbers reserved for fiction, e.g. +1 212 555 01xx
    phone_range: tuple[int, int]
    streets: tuple[str, ...]
    city: str
    weight: int


# What the demo customers are made of (a data file: words and figures, not code); read once.
PEOPLE = json.loads(Path(__file__).with_name("demo_people.json").read_text(encoding="utf-8"))
FIRST_NAMES: list[str] = PEOPLE["first_names"]
LAST_NAMES: list[str] = PEOPLE["last_names"]
PLACES = tuple(
    _Place(
        timezone=place["timezone"],
        phone=place["phone"],
        phone_range=(place["phone_range"][0], place["phone_range"][1]),
        streets=tuple(place["streets"]),
        city=place["city"],
        weight=place["weight"],
    )
    for place in PEOPLE["places"]
)
# (name, domain, industry); the school is still a prospect
ACCOUNTS = tuple((a["name"], a["domain"], a["industry"]) for a in PEOPLE["accounts"])
# (name, domain, partner kind)
PARTNER_ACCOUNTS = tuple((a["name"], a["domain"], a["kind"]) for a in PEOPLE["partner_accounts"])
# (category, lowest price, highest price, weight)
CATALOGUES = {
    name: tuple((c["category"], c["low"], c["high"], c["weight"]) for c in rows)
    for name, rows in PEOPLE["catalogues"].items()
}
# channel -> (direction, sentiment, summary)
SCRIPTS = {
    channel: tuple((s["direction"], s["sentiment"], s["summary"]) for s in scripts)
    for channel, scripts in PEOPLE["scripts"].items()
}
# how often each kind of customer is in touch on each channel, by style (retail, b2b, prospect)
KIND_WEIGHTS: dict[str, dict[str, int]] = PEOPLE["channel_weights"]
NOTES: list[str] = PEOPLE["notes"]
# (category, description, resolution)
COMPLAINTS = tuple((c["category"], c["description"], c["resolution"]) for c in PEOPLE["complaints"])
CONSENT_SOURCES: list[str] = PEOPLE["consent_sources"]

# One in every 20 retail customers of each kind; shuffled, so each kind shows up in any demo.
RETAIL_MIX = (
    ("prospect",) * 3
    + ("one_time",) * 5
    + ("occasional",) * 3
    + ("regular",) * 3
    + ("loyal",) * 2
    + ("lapsed",) * 2
    + ("slipping",) * 2
)
PROSPECT_PERSONAS = ("prospect", "b2b_contact", "b2b_prospect", "internal")


@dataclass
class Person:
    """One demo customer: who they are, how they behave, and (once created) their row."""

    number: int
    persona: str
    joined: date
    data: dict
    owner: User | None
    stop: date | None = None  # lapsed and slipping customers stop buying on this day
    customer: Customer | None = None
    buying_days: list[date] = field(default_factory=list)

    @property
    def style(self) -> str:
        """How they deal with us: as a retail customer, a business, or a prospect looking around."""
        if self.persona == "prospect":
            return "prospect"
        return "b2b" if self.data["audience"] == Audience.B2B else "retail"


@dataclass
class Event:
    """Something that happens to a demo customer at a moment: a row to write, or to change."""

    at: datetime
    # purchase, interaction, follow_up_done, complaint, resolve, contract, renewed, referral,
    # convert, reward
    kind: str
    row: object
    extra: dict = field(default_factory=dict)


def history(
    rng: random.Random, people: list[Person], *, now: datetime, managers: list[User]
) -> list[Event]:
    """Everything that happened to the demo customers before `now`, oldest first."""
    today = timezone.localdate(now)
    events: list[Event] = []
    for person in people:
        person.buying_days = _buying_days(rng, person, today)
        events += _purchases(rng, person)
        events += _interactions(rng, person, today=today, now=now, managers=managers)
        events += _complaints(rng, person, today=today, now=now, managers=managers)
        events += _contracts(rng, person, today=today, now=now)
        events += _rewards(rng, person, today=today, now=now)
    events += _referrals(rng, people, today=today, now=now)
    # At one moment: a contract ends before its successor starts; a complaint or referral is
    # made before it is resolved or converted.
    order = {"renewed": -2, "complaint": 0, "referral": 1, "resolve": 2, "signup": 2, "convert": 3}
    events.sort(key=lambda e: (e.at, order.get(e.kind, -1)))
    return events


def _rhythm(rng: random.Random, first: date, last: date, gap: float) -> list[date]:
    days, day = [], first
    while day <= last:
        days.append(day)
        day += timedelta(days=max(1, round(gap * rng.uniform(0.6, 1.4))))
    return days


def _buying_days(rng: random.Random, person: Person, today: date) -> list[date]:
    start = min(person.joined + timedelta(days=rng.randint(0, 20)), today)
    match person.persona:
        case "one_time":
            return [start]
        case "occasional":
            span = (today - start).days
            return sorted(
                {start + timedelta(days=rng.randint(0, span)) for _ in range(3)} | {start}
            )[: rng.randint(2, 3)]
        case "regular":
            return _rhythm(rng, start, today, rng.uniform(45, 100))
        case "loyal":
            return _rhythm(rng, start, today, rng.uniform(18, 40))
        case "lapsed":
            return _rhythm(rng, start, person.stop, rng.uniform(30, 70))
        case "slipping":
            return _rhythm(rng, start, person.stop, rng.uniform(30, 55))
        case "b2b_client":
            return _rhythm(rng, start, today, rng.uniform(60, 110))
        case "b2b_buyer":
            return _rhythm(rng, start, today, rng.uniform(25, 50))
        case "partner":
            return _rhythm(rng, start, today, rng.uniform(20, 40))
    return []


def _price(
    rng: random.Random, catalogue: tuple[tuple[str, int, int, int], ...]
) -> tuple[str, Decimal]:
    category, low, high, _ = rng.choices(catalogue, weights=[c[3] for c in catalogue])[0]
    euros = rng.randint(low, high)
    cents = rng.choice(("00", "50", "90", "95")) if high < 1000 else "00"
    return category, Decimal(f"{euros}.{cents}")


def _purchases(rng: random.Random, person: Person) -> list[Event]:
    kind = (
        "partner" if person.persona == "partner" else "b2b" if person.style == "b2b" else "retail"
    )
    catalogue = CATALOGUES[kind]
    events = []
    for day in person.buying_days:
        category, amount = _price(rng, catalogue)
        purchase = Purchase(
            customer=person.customer, amount=amount, purchased_on=day, product_category=category
        )
        events.append(Event(_nine(day), "purchase", purchase))
    return events


def _nine(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, time(9, 0)))


def _moment(rng: random.Random, day: date, now: datetime) -> datetime:
    at = timezone.make_aware(
        datetime.combine(day, time(rng.randint(8, 17), rng.randrange(0, 60, 5)))
    )
    return min(at, now - timedelta(minutes=1))


def _between(rng: random.Random, first: date, last: date) -> date:
    return first + timedelta(days=rng.randint(0, max((last - first).days, 0)))


def _interactions(
    rng: random.Random, person: Person, *, today: date, now: datetime, managers: list[User]
) -> list[Event]:
    persona = person.persona
    low, high = {
        "prospect": (1, 4),
        "one_time": (1, 4),
        "occasional": (2, 5),
        "regular": (3, 8),
        "loyal": (6, 14),
        "lapsed": (2, 5),
        "slipping": (3, 6),
        "b2b_client": (6, 12),
        "b2b_buyer": (3, 8),
        "b2b_contact": (1, 3),
        "b2b_prospect": (2, 4),
        "partner": (4, 10),
        "internal": (1, 2),
    }[persona]
    last = person.stop + timedelta(days=30) if person.stop else today
    days = [_between(rng, person.joined, last) for _ in range(rng.randint(low, high))]
    if person.owner and persona not in ("lapsed", "internal") and rng.random() < 0.4:
        days.append(_between(rng, max(person.joined, today - timedelta(days=RECENT_DAYS)), today))
    weights = KIND_WEIGHTS[person.style]
    kinds = [rng.choices(list(weights), weights=list(weights.values()))[0] for _ in days]
    if persona == "loyal":
        # Regulars come to tastings and the user group: the community stage of the bond.
        for _ in range(rng.randint(1, 3)):
            days.append(_between(rng, max(person.joined, today - timedelta(days=330)), today))
            kinds.append("event")
    recent = today - timedelta(days=RECENT_DAYS)
    events = []
    for day, kind in zip(days, kinds, strict=True):
        scripts = SCRIPTS[kind]
        if persona == "slipping" and rng.random() < 0.5:
            scripts = [s for s in scripts if s[1] == "negative"] or scripts
        direction, sentiment, summary = rng.choice(scripts)
        author = person.owner or (
            rng.choice(managers) if managers and direction == "outbound" else None
        )
        interaction = Interaction(
            customer=person.customer,
            author=author,
            channel=kind,
            direction=direction,
            summary=summary,
            notes=rng.choice(NOTES) if rng.random() < 0.3 else "",
            sentiment=sentiment,
            occurred_at=_moment(rng, day, now),
        )
        events.append(Event(interaction.occurred_at, "interaction", interaction))
        if not (person.owner and direction == "outbound" and rng.random() < 0.35):
            continue
        interaction.follow_up_on = day + timedelta(days=rng.randint(1, 10))
        if day > recent:
            continue  # asked for lately: still on the owner's list
        # Done around when it was due, and not before the day's calls were logged (evening).
        due = _nine(interaction.follow_up_on)
        done = min(due + timedelta(hours=rng.randint(-20, 48)), now - timedelta(minutes=1))
        done = max(done, timezone.make_aware(datetime.combine(day, time(18, 0))))
        events.append(Event(done, "follow_up_done", interaction, {"by": person.owner}))
    return events


def _complaints(
    rng: random.Random, person: Person, *, today: date, now: datetime, managers: list[User]
) -> list[Event]:
    chance = {
        "slipping": 0.6,
        "lapsed": 0.3,
        "loyal": 0.25,
        "regular": 0.2,
        "b2b_client": 0.3,
        "b2b_buyer": 0.3,
        "partner": 0.3,
        "occasional": 0.15,
        "one_time": 0.1,
    }
    days = []
    if person.buying_days and rng.random() < chance.get(person.persona, 0):
        days.append(min(rng.choice(person.buying_days) + timedelta(days=rng.randint(1, 10)), today))
    lately = [day for day in person.buying_days if (today - day).days <= 120]
    if lately and rng.random() < 0.12:
        # Some trouble of the last weeks, so the open complaints have all sorts of ages.
        days.append(_between(rng, lately[0], today))
    events = []
    for day in days:
        events += _complaint(rng, person, day, today=today, now=now, managers=managers)
    return events


def _complaint(
    rng: random.Random,
    person: Person,
    day: date,
    *,
    today: date,
    now: datetime,
    managers: list[User],
) -> list[Event]:
    category, description, resolution = rng.choice(COMPLAINTS)
    owner = person.owner or (rng.choice(managers) if managers else None)
    complaint = Complaint(
        customer=person.customer,
        opened_at=_moment(rng, day, now),
        category=category,
        description=description,
        severity=rng.choices(("low", "medium", "high"), weights=(4, 4, 2))[0],
        owner=owner,
    )
    events = [Event(complaint.opened_at, "complaint", complaint)]
    age = (today - day).days
    if (age < 90 and rng.random() < 0.45) or (person.persona == "slipping" and rng.random() < 0.3):
        return events  # still open
    # Every draw is made before looking at the clock, so the same day seeds the same history.
    resolved_at = complaint.opened_at + timedelta(hours=rng.randint(2, 24 * 21))
    goodwill = Decimal(rng.choice((10, 15, 25, 50))) if rng.random() < 0.4 else None
    refunded = -Decimal(rng.randint(40, 180))
    if resolved_at >= now:
        return events
    events.append(Event(resolved_at, "resolve", complaint, {"resolution": resolution}))
    if goodwill:
        reward = Reward(
            customer=person.customer,
            kind=Reward.Kind.DISCOUNT,
            value=goodwill,
            reason=f"Goodwill discount after: {category.lower()}",
            given_at=resolved_at,
        )
        events.append(Event(resolved_at, "reward", reward))
    if category == "Defective product" and person.style == "retail":
        refund = Purchase(
            customer=person.customer,
            amount=refunded,
            purchased_on=timezone.localdate(resolved_at),
            product_category="Grinders",
        )
        events.append(Event(_nine(refund.purchased_on), "purchase", refund))
    return events


def _contracts(rng: random.Random, person: Person, *, today: date, now: datetime) -> list[Event]:
    persona = person.persona
    if persona == "b2b_client":
        title, years, values = rng.choice(("Office coffee service", "Maintenance plan")), 1, (6, 40)
    elif persona == "partner" and rng.random() < 0.7:
        title = {"var": "Reseller agreement", "dealer": "Dealer agreement"}.get(
            person.data["partner_kind"], "Supply agreement"
        )
        years, values = 2, (20, 120)
    elif persona == "loyal" and rng.random() < 0.3:
        title, years, values = "Machine care plan", 1, (0, 0)
    else:
        return []
    events = []
    start = person.joined + timedelta(days=rng.randint(0, 30))
    while start <= today:
        end = start + timedelta(days=365 * years - 1)
        ongoing = end >= today
        # Most contracts are renewed; some lapse, and then the chain stops.
        lapses = not ongoing and rng.random() < 0.2
        value = (
            Decimal(rng.randint(*values) * 1000) if values[1] else Decimal(rng.choice((149, 249)))
        )
        contract = Contract(
            customer=person.customer,
            title=f"{title} {start.year}",
            starts_on=start,
            ends_on=end,
            value=value,
        )
        signed = min(_nine(start), now - timedelta(minutes=1))
        events.append(Event(signed, "contract", contract))
        if ongoing:
            break
        # Settled the morning after it ended: renewed (the next one starts then) or lapsed.
        status = Contract.Renewal.LAPSED if lapses else Contract.Renewal.RENEWED
        settled = min(_nine(end + timedelta(days=1)), now - timedelta(minutes=1))
        events.append(Event(settled, "renewed", contract, {"status": status}))
        if lapses:
            break
        start = end + timedelta(days=1)
    return events


def _rewards(rng: random.Random, person: Person, *, today: date, now: datetime) -> list[Event]:
    rewards = []
    if person.persona == "loyal":
        anniversary = person.joined + timedelta(days=365)
        while anniversary <= today:
            rewards.append(
                Reward(
                    kind=Reward.Kind.GIFT,
                    value=Decimal(25),
                    reason="Anniversary gift: a tasting set",
                    given_at=_moment(rng, anniversary, now),
                )
            )
            anniversary += timedelta(days=365)
    if person.persona in ("prospect", "b2b_prospect") and rng.random() < 0.25:
        rewards.append(
            Reward(
                kind=Reward.Kind.TRIAL,
                value=Decimal(0),
                reason="Free trial: one month of the bean subscription",
                given_at=_moment(rng, _between(rng, person.joined, today), now),
            )
        )
    if person.persona == "b2b_client" and rng.random() < 0.6:
        rewards.append(
            Reward(
                kind=Reward.Kind.GIFT,
                value=Decimal(80),
                reason="Year-end hamper for the office",
                given_at=_moment(rng, date(today.year - 1, 12, 12), now),
            )
        )
    events = []
    for reward in rewards:
        if timezone.localdate(reward.given_at) >= person.joined:
            reward.customer = person.customer
            events.append(Event(reward.given_at, "reward", reward))
    return events


def _referrals(
    rng: random.Random, people: list[Person], *, today: date, now: datetime
) -> list[Event]:
    """Customers recommend friends; some of those friends are demo customers who then bought."""
    chance = {
        "loyal": (0.7, 3),
        "regular": (0.3, 1),
        "b2b_client": (0.3, 1),
        "partner": (0.5, 2),
        "occasional": (0.1, 1),
    }
    newcomers = [
        p for p in people if p.buying_days and p.persona not in ("b2b_client", "b2b_buyer")
    ]
    referred: set[int] = set()
    events = []
    for person in people:
        likelihood, most = chance.get(person.persona, (0, 0))
        if not person.buying_days or rng.random() >= likelihood:
            continue
        for _ in range(rng.randint(1, most)):
            day = _between(rng, person.buying_days[0] + timedelta(days=7), today)
            if day > today:
                continue
            friend = None
            if rng.random() < 0.55:
                fits = [
                    p
                    for p in newcomers
                    if p is not person
                    and p.number not in referred
                    and day <= p.joined
                    and p.buying_days[0] <= day + timedelta(days=90)
                ]
                friend = rng.choice(fits) if fits else None
            first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
            name = friend.customer.name if friend else f"{first} {last}"
            email = friend.customer.email if friend else f"{ascii_name(first)}@example.org"
            referral = Referral(
                referrer=person.customer,
                referred_name=name,
                referred_email=email,
                created_at=_moment(rng, day, now),
            )
            events.append(Event(referral.created_at, "referral", referral))
            if friend is None:
                continue
            referred.add(friend.number)
            converted_at = max(
                _moment(rng, friend.buying_days[0], now), referral.created_at + timedelta(hours=1)
            )
            if converted_at >= now:
                continue
            # The friend signs up with the code; their first purchase converts the referral
            # (or, bought that same morning, the marketer marks it); the rules reward both.
            signed_up = min(
                max(referral.created_at + timedelta(minutes=30), friend.customer.created_at),
                converted_at - timedelta(minutes=1),
            )
            events.append(Event(signed_up, "signup", referral, {"friend": friend.customer}))
            events.append(Event(converted_at, "convert", referral, {"friend": friend.customer}))
    return events


def ascii_name(name: str) -> str:
    """A name as the local part of an e-mail address: plain letters, lower case."""
    plain = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    return "".join(ch for ch in plain.lower() if ch.isalnum())
