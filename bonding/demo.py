"""Demo data for a first look at Bonding: people to sign in as, customers with a past, a year of
NPS surveys (the eight-step program's year is seeded by programs/demo.py)."""

import random
import unicodedata
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal

from django.contrib.auth.models import AbstractBaseUser, Group, User
from django.db import transaction
from django.db.models import Max, QuerySet
from django.utils import timezone

from customers import activity, ladder, placement, queries, records, valuation
from customers.models import (
    Account,
    Audience,
    BondChange,
    Channel,
    Complaint,
    ConsentChange,
    Contract,
    Customer,
    FollowUp,
    Interaction,
    PartnerKind,
    Purchase,
    Referral,
    Relationship,
    Reward,
    Tier,
    TierChange,
    TimelineEntry,
)
from customers.roles import ACCOUNT_MANAGERS, MARKETERS


@dataclass(frozen=True)
class DemoUser:
    """A person to sign in as in the demo."""

    username: str
    password: str
    first_name: str
    last_name: str
    role: str  # "admin" or a group name


# Fixed passwords so the README and every run print the same sign-ins; seed_demo refuses to
# run outside DEBUG, so they never reach a real deployment.
DEMO_USERS = (
    DemoUser("admin", "bonding-admin", "Ada", "Admin", "admin"),
    DemoUser("marketer", "bonding-marketer", "Maria", "Marketer", MARKETERS),
    DemoUser("manager", "bonding-manager", "Alex", "Manager", ACCOUNT_MANAGERS),
    DemoUser("manager2", "bonding-manager2", "Sam", "Second", ACCOUNT_MANAGERS),
)


@transaction.atomic
def seed_users() -> list[tuple[DemoUser, bool]]:
    """Create the demo users that are missing; return each with whether it was created."""
    outcomes = []
    for demo in DEMO_USERS:
        user, created = User.objects.get_or_create(
            username=demo.username,
            defaults={
                "first_name": demo.first_name,
                "last_name": demo.last_name,
                "email": f"{demo.username}@example.com",
                "is_staff": demo.role == "admin",
                "is_superuser": demo.role == "admin",
            },
        )
        if created:
            user.set_password(demo.password)
            user.save(update_fields=["password"])
            if demo.role != "admin":
                user.groups.add(Group.objects.get(name=demo.role))
        outcomes.append((demo, created))
    return outcomes


DEMO_PREFIX = "demo-"
HISTORY_DAYS = 730
# The last fortnight is logged through the services, as an account manager would have done;
# everything older is written in bulk, a month at a time, each month closed by the ladder and
# bond rules run as of its last day, so tier and bond moves carry the dates they happened on.
RECENT_DAYS = 14
MONTH_DAYS = 30

FIRST_NAMES = (
    "Amara", "Ben", "Chloé", "Diego", "Elif", "Farah", "Gareth", "Hana", "Inès", "Jonas",
    "Kwame", "Lena", "Mateo", "Nadia", "Oskar", "Priya", "Quentin", "Rosa", "Sven", "Tamsin",
    "Umar", "Valentina", "Wei", "Ximena", "Yusuf", "Zoë", "Aisling", "Bruno", "Camille",
    "Dmitri", "Esther", "Felix", "Grace", "Hiroshi", "Isabel", "Jamal", "Keiko", "Liam", "Maya",
    "Niamh", "Olu", "Paulina", "Rahul", "Sofia", "Thomas", "Ulla", "Victor", "Wanjiru", "Yara",
    "Zeynep", "Aidan", "Beatriz", "Conor", "Dalia", "Emeka", "Freya", "Gustavo", "Helen", "Ivan",
    "Joanna", "Kofi", "Lucía", "Marcus", "Noor", "Owen", "Pia", "Ravi", "Sinéad", "Tomás", "Uma",
    "Wren", "Xavier", "Yasmin", "Anders", "Brigid", "Chen", "Daniela", "Eamon", "Fatima",
    "Gabriel",
)  # fmt: skip
LAST_NAMES = (
    "Abebe", "Bergström", "Castillo", "Dubois", "Eriksen", "Fitzgerald", "García", "Haddad",
    "Ivanova", "Jensen", "Kowalski", "Lindqvist", "Moreau", "Nakamura", "O'Brien", "Petrov",
    "Quinn", "Rossi", "Schneider", "Tanaka", "Ueda", "van den Berg", "Walsh", "Xu", "Yılmaz",
    "Zimmermann", "Adeyemi", "Brennan", "Chaudhry", "Delacroix", "Evans", "Fernandes",
    "Gallagher", "Hoffmann", "Iqbal", "Johansson", "Kim", "Laurent", "Mendes", "Novak", "Okafor",
    "Patel", "Reyes", "Santos", "Thompson", "Ulloa", "Vásquez", "Wright", "Young", "Zhang",
    "Andersson", "Bianchi", "Campbell", "da Silva", "Edwards", "Fischer", "González", "Hughes",
    "Ito", "Kaur", "Lambert", "MacLeod", "Nguyen", "Olsen", "Park", "Romano", "Singh", "Torres",
    "Müller", "Ward", "Sato", "Murphy", "Clarke", "Mensah", "Kariuki", "Byrne", "López", "Martin",
)  # fmt: skip


@dataclass(frozen=True)
class _Place:
    """Where a demo customer lives: a time zone, a fictional phone range and an address."""

    timezone: str
    phone: str  # a format for numbers reserved for fiction, e.g. +1 212 555 01xx
    phone_range: tuple[int, int]
    streets: tuple[str, ...]
    city: str
    weight: int


PLACES = (
    _Place("America/New_York", "+1212555{:04d}", (100, 200), ("Hudson Street", "Orchard Street"),
           "New York, NY 10013", 10),
    _Place("America/New_York", "+1617555{:04d}", (100, 200), ("Tremont Street",),
           "Boston, MA 02118", 5),
    _Place("America/Chicago", "+1312555{:04d}", (100, 200), ("West Lake Street",),
           "Chicago, IL 60607", 7),
    _Place("America/Chicago", "+1512555{:04d}", (100, 200), ("Congress Avenue",),
           "Austin, TX 78701", 4),
    _Place("America/Los_Angeles", "+1415555{:04d}", (100, 200), ("Valencia Street",),
           "San Francisco, CA 94110", 7),
    _Place("America/Los_Angeles", "+1206555{:04d}", (100, 200), ("Pike Street",),
           "Seattle, WA 98101", 4),
    _Place("America/Toronto", "+1416555{:04d}", (100, 200), ("Queen Street West",),
           "Toronto, ON M5V 2A1", 6),
    _Place("Europe/London", "+44207946{:04d}", (0, 1000), ("Old Street", "Exmouth Market"),
           "London EC1V 9HX", 14),
    _Place("Europe/London", "+44161496{:04d}", (0, 1000), ("Deansgate",),
           "Manchester M3 4LZ", 5),
    _Place("Europe/Paris", "+3319900{:04d}", (0, 10000), ("rue Oberkampf", "boulevard Voltaire"),
           "75011 Paris", 9),
    _Place("Australia/Sydney", "+61491570{:03d}", (0, 1000), ("George Street",),
           "Sydney NSW 2000", 6),
)  # fmt: skip

ACCOUNTS = (
    ("Northwind Traders", "northwind.example", "Wholesale"),
    ("Blue Harbor Hotels", "blueharbor.example", "Hospitality"),
    ("Quarry Lane School", "quarrylane.example", "Education"),  # still a prospect
    ("Keller & Lutz Architects", "kellerlutz.example", "Architecture"),
    ("Orchard Street Dental", "orcharddental.example", "Healthcare"),
    ("Tidewater Logistics", "tidewater.example", "Logistics"),
    ("Maple Leaf Co-working", "mapleleaf.example", "Real estate"),
    ("Copperline Studios", "copperline.example", "Media"),
)
PARTNER_ACCOUNTS = (
    ("Brewline Systems", "brewline.example", PartnerKind.VAR),
    ("Crema & Co. Dealers", "cremaco.example", PartnerKind.DEALER),
    ("Route Nine Supply", "routenine.example", PartnerKind.JOBBER),
)

# One in every 20 retail customers of each kind; shuffled, so each kind shows up in any demo.
RETAIL_MIX = (
    ("prospect",) * 3 + ("one_time",) * 5 + ("occasional",) * 3 + ("regular",) * 3
    + ("loyal",) * 2 + ("lapsed",) * 2 + ("slipping",) * 2
)  # fmt: skip

# (category, lowest price, highest price, weight)
RETAIL_CATALOGUE = (
    ("Coffee beans", 12, 55, 30),
    ("Bean subscription", 24, 48, 20),
    ("Accessories", 9, 85, 15),
    ("Grinders", 89, 480, 8),
    ("Espresso machines", 349, 2390, 5),
    ("Spare parts", 14, 120, 8),
    ("Barista course", 120, 320, 4),
    ("Gift cards", 25, 150, 5),
)
B2B_CATALOGUE = (
    ("Office coffee service", 300, 2400, 30),
    ("Coffee beans (wholesale)", 400, 3200, 30),
    ("Maintenance visits", 250, 1200, 15),
    ("Commercial espresso machines", 3500, 18000, 5),
    ("Installation", 450, 2500, 5),
    ("Staff training", 600, 1800, 5),
)
PARTNER_CATALOGUE = (
    ("Machines for resale", 2000, 24000, 30),
    ("Coffee beans (wholesale)", 800, 6000, 40),
    ("Spare parts (trade)", 200, 3000, 30),
)

# channel -> (direction, sentiment, summary)
SCRIPTS = {
    "call": (
        ("outbound", "positive", "Check-in call: happy with the new machine"),
        ("outbound", "neutral", "Left a voicemail about the autumn offer"),
        ("inbound", "neutral", "Asked how to descale the machine"),
        ("inbound", "negative", "Called about a late delivery"),
        ("outbound", "positive", "Thank-you call after a large order"),
        ("outbound", "neutral", "Called to confirm the delivery address"),
        ("outbound", "negative", "Call about an unpaid invoice"),
    ),
    "email": (
        ("outbound", "neutral", "Sent the brewing guide"),
        ("inbound", "positive", "Wrote to say the new roast is the best yet"),
        ("inbound", "neutral", "Asked for a copy of an invoice"),
        ("outbound", "neutral", "Sent a quote for a grinder upgrade"),
        ("inbound", "negative", "Unhappy with how long support took to reply"),
        ("outbound", "positive", "Sent a personal thank-you note"),
    ),
    "meeting": (
        ("outbound", "positive", "Quarterly review at their office"),
        ("outbound", "neutral", "Demo of the new commercial range"),
        ("inbound", "positive", "Visited the showroom to try machines"),
        ("outbound", "negative", "Review meeting: service response times questioned"),
        ("outbound", "neutral", "Contract renewal discussion"),
    ),
    "sms": (
        ("outbound", "neutral", "Delivery slot reminder"),
        ("inbound", "positive", "Replied thanks for the quick delivery"),
        ("outbound", "neutral", "Reminder: descaling due"),
        ("inbound", "negative", "Replied that the courier never came"),
    ),
    "chat": (
        ("inbound", "neutral", "Web chat: which grind for a moka pot"),
        ("inbound", "negative", "Web chat: order shows as lost"),
        ("inbound", "positive", "Web chat: praised the flexible subscription"),
        ("outbound", "neutral", "Proactive chat on the checkout page"),
    ),
    "social": (
        ("inbound", "positive", "Posted a latte-art photo tagging us"),
        ("inbound", "negative", "Complained on social media about stock-outs"),
        ("outbound", "neutral", "Answered a question under our post"),
    ),
    "event": (
        ("inbound", "positive", "Attended the spring tasting evening"),
        ("inbound", "positive", "Came to the home-barista user group"),
        ("inbound", "neutral", "Visited our stand at the coffee fair"),
        ("inbound", "positive", "Joined the latte-art workshop"),
    ),
    "letter": (
        ("outbound", "neutral", "Posted the annual catalogue"),
        ("outbound", "positive", "Posted a handwritten thank-you card"),
        ("inbound", "negative", "Letter disputing a late-payment fee"),
    ),
    "support": (
        ("inbound", "neutral", "Support ticket: low steam-wand pressure"),
        ("inbound", "negative", "Support ticket: machine leaking"),
        ("inbound", "positive", "Support ticket closed: fixed on the first visit"),
        ("outbound", "neutral", "Remote support session to adjust the settings"),
    ),
}
KIND_WEIGHTS = {
    "retail": {"email": 25, "call": 15, "chat": 15, "sms": 10, "support": 12, "social": 8,
               "event": 6, "letter": 5, "meeting": 4},
    "b2b": {"meeting": 25, "call": 25, "email": 25, "support": 10, "event": 8, "letter": 3,
            "chat": 2, "sms": 2},
    "prospect": {"email": 35, "chat": 20, "call": 15, "event": 15, "social": 10, "meeting": 5},
}  # fmt: skip
NOTES = (
    "Prefers calls after 4 pm.",
    "Uses the machine mostly at weekends.",
    "Asked us not to call on Mondays.",
    "Thinking about a second grinder for the office.",
    "Mentioned a friend who may want a machine.",
    "Wants recipes that work with oat milk.",
    "Budget approved for next quarter.",
    "The decision maker is the facilities manager.",
    "Will be travelling for most of next month.",
)
# (category, description, resolution)
COMPLAINTS = (
    ("Late delivery", "The order arrived a week after the promised date.",
     "Refunded the shipping and upgraded the next three orders to express."),
    ("Defective product", "The grinder stopped working after two weeks.",
     "Replaced the grinder under warranty; the courier collected the old one."),
    ("Billing error", "Charged twice for the same subscription month.",
     "Refunded the duplicate charge and apologised."),
    ("Missing parts", "The machine arrived without its portafilter.",
     "Sent the missing portafilter by express."),
    ("Staff attitude", "Felt rushed and dismissed in the showroom.",
     "The store manager called to apologise and invited them to a private tasting."),
    ("Website problem", "Could not check out with a saved card.",
     "Fixed the payment bug and applied a discount to the order."),
    ("Service visit", "The technician missed the agreed appointment.",
     "Rescheduled within the week and waived the call-out fee."),
    ("Substitution", "Subscription beans were swapped for another roast without asking.",
     "Sent the right beans and made substitutions opt-in."),
)  # fmt: skip
CONSENT_SOURCES = ("web shop sign-up", "in-store form", "coffee fair", "phone call", "old CRM")
PROSPECT_PERSONAS = ("prospect", "b2b_contact", "b2b_prospect", "internal")


@dataclass
class _Person:
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
class _Event:
    """Something that happens to a demo customer at a moment: a row to write, or to change."""

    at: datetime
    kind: str  # purchase, interaction, complaint, resolve, contract, referral, convert, ...
    row: object
    extra: dict = field(default_factory=dict)


@transaction.atomic
def seed_customers(*, count: int = 300, seed: int = 7) -> int:
    """Create `count` demo customers with two years of history; 0 if they are already there."""
    if Customer.objects.filter(external_id__startswith=DEMO_PREFIX).exists():
        return 0
    rng = random.Random(seed)
    today = timezone.localdate()
    users = {u.username: u for u in User.objects.filter(username__in=("manager", "manager2"))}
    managers = [users[name] for name in ("manager", "manager2") if name in users]
    people = _cast(rng, count=count, today=today, managers=managers)
    for person in people:
        _create(person)
    events = _history(rng, people, today=today, managers=managers)
    cut = today - timedelta(days=RECENT_DAYS)
    recent = _replay(events, people=people, start=today - timedelta(days=HISTORY_DAYS), cut=cut)
    _log_recent(recent)
    valuation.refresh_everyone(today=today)
    _finish(rng, users=users, today=today)
    return len(people)


def _cast(rng: random.Random, *, count: int, today: date, managers: list[User]) -> list[_Person]:
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
        person = _Person(
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
    person: _Person,
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
    local = f"{_ascii(first)}.{_ascii(last)}"
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


def _ascii(name: str) -> str:
    plain = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    return "".join(ch for ch in plain.lower() if ch.isalnum())


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


def _create(person: _Person) -> None:
    """Create the customer through the service, then date what it wrote to the day they joined."""
    data = dict(person.data)
    source = data.pop("consent_source")
    customer = records.create_customer(data=data, by=person.owner, consent_source=source)
    joined = min(timezone.make_aware(datetime.combine(person.joined, time(7, 30))), timezone.now())
    Customer.objects.filter(pk=customer.pk).update(created_at=joined, updated_at=joined)
    for model, moment in (
        (TimelineEntry, "occurred_at"),
        (ConsentChange, "changed_at"),
        (TierChange, "changed_at"),
        (BondChange, "changed_at"),
    ):
        model.objects.filter(customer=customer).update(**{moment: joined})
    person.customer = customer


def _history(
    rng: random.Random, people: list[_Person], *, today: date, managers: list[User]
) -> list[_Event]:
    """Everything that happened to the demo customers, oldest first."""
    now = timezone.now()
    events: list[_Event] = []
    for person in people:
        person.buying_days = _buying_days(rng, person, today)
        events += _purchases(rng, person)
        events += _interactions(rng, person, today=today, now=now, managers=managers)
        events += _complaints(rng, person, today=today, now=now, managers=managers)
        events += _contracts(rng, person, today=today)
        events += _rewards(rng, person, today=today, now=now)
    events += _referrals(rng, people, today=today, now=now)
    order = {kind: i for i, kind in enumerate(("complaint", "referral", "resolve", "convert"))}
    events.sort(key=lambda e: (e.at, order.get(e.kind, -1)))
    return events


def _rhythm(rng: random.Random, first: date, last: date, gap: float) -> list[date]:
    days, day = [], first
    while day <= last:
        days.append(day)
        day += timedelta(days=max(1, round(gap * rng.uniform(0.6, 1.4))))
    return days


def _buying_days(rng: random.Random, person: _Person, today: date) -> list[date]:
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


def _price(rng: random.Random, catalogue: tuple) -> tuple[str, Decimal]:
    category, low, high, _ = rng.choices(catalogue, weights=[c[3] for c in catalogue])[0]
    euros = rng.randint(low, high)
    cents = rng.choice(("00", "50", "90", "95")) if high < 1000 else "00"
    return category, Decimal(f"{euros}.{cents}")


def _purchases(rng: random.Random, person: _Person) -> list[_Event]:
    catalogue = B2B_CATALOGUE if person.style == "b2b" else RETAIL_CATALOGUE
    if person.persona == "partner":
        catalogue = PARTNER_CATALOGUE
    events = []
    for day in person.buying_days:
        category, amount = _price(rng, catalogue)
        purchase = Purchase(
            customer=person.customer, amount=amount, purchased_on=day, product_category=category
        )
        events.append(_Event(_nine(day), "purchase", purchase))
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
    rng: random.Random, person: _Person, *, today: date, now: datetime, managers: list[User]
) -> list[_Event]:
    persona = person.persona
    low, high = {
        "prospect": (1, 4), "one_time": (1, 4), "occasional": (2, 5), "regular": (3, 8),
        "loyal": (6, 14), "lapsed": (2, 5), "slipping": (3, 6), "b2b_client": (6, 12),
        "b2b_buyer": (3, 8), "b2b_contact": (1, 3), "b2b_prospect": (2, 4), "partner": (4, 10),
        "internal": (1, 2),
    }[persona]  # fmt: skip
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
        events.append(_Event(interaction.occurred_at, "interaction", interaction))
        if not (person.owner and direction == "outbound" and rng.random() < 0.35):
            continue
        interaction.follow_up_on = day + timedelta(days=rng.randint(1, 10))
        if day > recent:
            continue  # logged through the service, which schedules the follow-up itself
        due = _nine(interaction.follow_up_on)
        done = min(due + timedelta(hours=rng.randint(-20, 48)), now - timedelta(minutes=1))
        follow_up = FollowUp(
            customer=person.customer,
            assignee=person.owner,
            due_at=due,
            reason=f"Follow up: {summary}"[:300],
            source="interaction",
            created_at=interaction.occurred_at,
            done_at=max(done, interaction.occurred_at),
            done_by=person.owner,
        )
        events.append(_Event(follow_up.done_at, "follow_up", follow_up))
    return events


def _complaints(
    rng: random.Random, person: _Person, *, today: date, now: datetime, managers: list[User]
) -> list[_Event]:
    chance = {"slipping": 0.6, "lapsed": 0.3, "loyal": 0.25, "regular": 0.2, "b2b_client": 0.3,
              "b2b_buyer": 0.3, "partner": 0.3, "occasional": 0.15, "one_time": 0.1}  # fmt: skip
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
    person: _Person,
    day: date,
    *,
    today: date,
    now: datetime,
    managers: list[User],
) -> list[_Event]:
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
    events = [_Event(complaint.opened_at, "complaint", complaint)]
    age = (today - day).days
    if (age < 90 and rng.random() < 0.45) or (person.persona == "slipping" and rng.random() < 0.3):
        return events  # still open
    # Every draw is made before looking at the clock, so the same day seeds the same history.
    resolved_at = complaint.opened_at + timedelta(hours=rng.randint(2, 24 * 21))
    goodwill = Decimal(rng.choice((10, 15, 25, 50))) if rng.random() < 0.4 else None
    refunded = -Decimal(rng.randint(40, 180))
    if resolved_at >= now:
        return events
    events.append(_Event(resolved_at, "resolve", complaint, {"resolution": resolution}))
    if goodwill:
        reward = Reward(
            customer=person.customer,
            kind=Reward.Kind.DISCOUNT,
            value=goodwill,
            reason=f"Goodwill discount after: {category.lower()}",
            given_at=resolved_at,
        )
        events.append(_Event(resolved_at, "reward", reward))
    if category == "Defective product" and person.style == "retail":
        refund = Purchase(
            customer=person.customer,
            amount=refunded,
            purchased_on=timezone.localdate(resolved_at),
            product_category="Grinders",
        )
        events.append(_Event(_nine(refund.purchased_on), "purchase", refund))
    return events


def _contracts(rng: random.Random, person: _Person, *, today: date) -> list[_Event]:
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
        status = (
            Contract.Renewal.PENDING
            if ongoing
            else Contract.Renewal.LAPSED
            if lapses
            else Contract.Renewal.RENEWED
        )
        value = (
            Decimal(rng.randint(*values) * 1000) if values[1] else Decimal(rng.choice((149, 249)))
        )
        contract = Contract(
            customer=person.customer,
            title=f"{title} {start.year}",
            starts_on=start,
            ends_on=end,
            value=value,
            renewal_status=status,
        )
        events.append(_Event(_nine(start), "contract", contract))
        if lapses:
            break
        start = end + timedelta(days=1)
    return events


def _rewards(rng: random.Random, person: _Person, *, today: date, now: datetime) -> list[_Event]:
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
            events.append(_Event(reward.given_at, "reward", reward))
    return events


def _referrals(
    rng: random.Random, people: list[_Person], *, today: date, now: datetime
) -> list[_Event]:
    """Customers recommend friends; some of those friends are demo customers who then bought."""
    chance = {"loyal": (0.7, 3), "regular": (0.3, 1), "b2b_client": (0.3, 1), "partner": (0.5, 2),
              "occasional": (0.1, 1)}  # fmt: skip
    newcomers = [
        p for p in people if p.buying_days and p.persona not in ("b2b_client", "b2b_buyer")
    ]
    referred: set[int] = set()
    codes: set[str] = set()
    events = []
    for person in people:
        likelihood, most = chance.get(person.persona, (0, 0))
        if not person.buying_days or rng.random() >= likelihood:
            continue
        for _ in range(rng.randint(1, most)):
            day = _between(rng, person.buying_days[0] + timedelta(days=7), today)
            if day > today:
                continue
            code = f"{rng.getrandbits(40):010X}"
            if code in codes:
                continue
            codes.add(code)
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
            email = friend.customer.email if friend else f"{_ascii(first)}@example.org"
            referral = Referral(
                referrer=person.customer,
                referred_name=name,
                referred_email=email,
                code=code,
                created_at=_moment(rng, day, now),
            )
            events.append(_Event(referral.created_at, "referral", referral))
            if friend is None:
                continue
            referred.add(friend.number)
            converted_at = max(
                _moment(rng, friend.buying_days[0], now), referral.created_at + timedelta(hours=1)
            )
            if converted_at >= now:
                continue
            events.append(_Event(converted_at, "convert", referral, {"friend": friend.customer}))
            thanks = converted_at + timedelta(days=2)
            if thanks < now:
                gift = Reward(
                    customer=person.customer,
                    kind=Reward.Kind.GIFT,
                    value=Decimal(20),
                    reason=f"Thank-you gift for referring {name}",
                    given_at=thanks,
                )
                events.append(_Event(thanks, "reward", gift))
    return events


def _replay(events: list[_Event], *, people: list[_Person], start: date, cut: date) -> list[_Event]:
    """Write the history up to `cut` a month at a time, each month closed by the ladder rules."""
    index = 0
    end = start
    while end < cut:
        end = min(end + timedelta(days=MONTH_DAYS), cut)
        batch = []
        while index < len(events) and timezone.localdate(events[index].at) <= end:
            batch.append(events[index])
            index += 1
        _write(batch)
        # Those who join later have no history yet: the rules would leave them where they are.
        _place_as_of([p.customer for p in people if p.joined <= end], end)
    return events[index:]


def _place_as_of(customers: list[Customer], day: date) -> None:
    """Run the ladder and bond rules as of `day` and date the moves they record to that night.

    The value figures are left to the one real refresh at the end: fitting the value model
    every month would only slow the seed down.
    """
    marks = {
        model: model.objects.aggregate(last=Max("pk"))["last"] or 0
        for model in (TierChange, BondChange, TimelineEntry)
    }
    facts = queries.gather_facts(customers, today=day)
    slugs = list(Tier.objects.order_by("rank").values_list("slug", flat=True))
    for customer in customers:
        known = facts[customer.pk].ladder
        tier = ladder.fit_to_ladder(slug=ladder.place_on_ladder(facts=known).slug, available=slugs)
        # The service records the move; asking it only when the rules say one is due saves time.
        if (
            tier != customer.tier.slug
            or ladder.place_on_bond(facts=known).slug != customer.bond_stage
        ):
            placement.place_customer(customer=customer, facts=facts[customer.pk])
    at = timezone.make_aware(datetime.combine(day, time(23, 30)))
    TierChange.objects.filter(pk__gt=marks[TierChange]).update(changed_at=at)
    BondChange.objects.filter(pk__gt=marks[BondChange]).update(changed_at=at)
    TimelineEntry.objects.filter(pk__gt=marks[TimelineEntry]).update(occurred_at=at)


def _write(events: list[_Event]) -> None:
    """Write a batch of history in bulk, with the timeline entries the services would write."""
    by_kind: dict[str, list[_Event]] = defaultdict(list)
    for event in events:
        by_kind[event.kind].append(event)
    rows = {kind: [e.row for e in by_kind[kind]] for kind in by_kind}
    for kind, model in (
        ("purchase", Purchase),
        ("interaction", Interaction),
        ("complaint", Complaint),
        ("contract", Contract),
        ("referral", Referral),
        ("reward", Reward),
        ("follow_up", FollowUp),
    ):
        model.objects.bulk_create(rows.get(kind, []))
    for event in by_kind["resolve"]:
        complaint = event.row
        complaint.status = Complaint.Status.RESOLVED
        complaint.resolution = event.extra["resolution"]
        complaint.resolved_at = event.at
    Complaint.objects.bulk_update(rows.get("resolve", []), ["status", "resolution", "resolved_at"])
    for event in by_kind["convert"]:
        referral = event.row
        referral.status = Referral.Status.CONVERTED
        referral.converted_at = event.at
        referral.referred_customer = event.extra["friend"]
    Referral.objects.bulk_update(
        rows.get("convert", []), ["status", "converted_at", "referred_customer"]
    )
    TimelineEntry.objects.bulk_create(_entry(event) for event in events)


def _entry(event: _Event) -> TimelineEntry:
    """The timeline line the service that writes this row would have added (same words)."""
    row, Kind = event.row, TimelineEntry.Kind
    match event.kind:
        case "purchase":
            what = f" — {row.product_category}" if row.product_category else ""
            kind, title = Kind.PURCHASE, f"Purchase: {row.amount:.2f} {row.currency}{what}"
            detail, actor = "", None
        case "interaction":
            kind, detail, actor = Kind.INTERACTION, row.notes, row.author
            title = (
                f"{row.get_channel_display()} ({row.get_direction_display().lower()}): "
                f"{row.summary}"
            )
        case "complaint":
            kind, detail, actor = Kind.COMPLAINT, row.description, row.owner
            title = f"Complaint ({row.get_severity_display().lower()}): {row.category}"
        case "resolve":
            kind, detail, actor = Kind.COMPLAINT_RESOLVED, row.resolution, row.owner
            title = f"Complaint resolved: {row.category}"
        case "contract":
            kind, detail, actor = Kind.CONTRACT, "", None
            title = f"Contract: {row.title} ({row.starts_on:%Y-%m-%d} to {row.ends_on:%Y-%m-%d})"
        case "referral":
            kind, detail, actor = Kind.REFERRAL, "", None
            title = f"Referred {row.referred_name or row.referred_email} (code {row.code})"
        case "convert":
            kind, detail, actor = Kind.REFERRAL, "", None
            title = f"Referral {row.code} converted"
        case "reward":
            kind, detail, actor = Kind.REWARD, "", None
            value = f" ({row.value})" if row.value else ""
            title = f"{row.get_kind_display()}: {row.reason}{value}"
        case "follow_up":
            kind, detail, actor = Kind.FOLLOW_UP, "", row.done_by
            title = f"Follow-up done: {row.reason}"
    customer_id = row.referrer_id if event.kind in ("referral", "convert") else row.customer_id
    return TimelineEntry(
        customer_id=customer_id,
        kind=kind,
        occurred_at=event.at,
        title=title[:300],
        detail=detail,
        actor=actor,
        source_id=row.pk,
    )


def _log_recent(events: list[_Event]) -> None:
    """The last fortnight, logged through the services in the order it happened."""
    _write([e for e in events if e.kind in ("referral", "convert", "reward", "follow_up")])
    ids = {e.row.customer_id for e in events if hasattr(e.row, "customer_id")}
    # Fresh rows: the monthly refreshes moved these customers since they were created.
    fresh = Customer.objects.select_related("tier", "highest_tier", "owner").in_bulk(ids)
    opened: dict[int, Complaint] = {}
    for event in events:
        row = event.row
        if event.kind in ("referral", "convert", "reward", "follow_up"):
            continue
        customer = fresh[row.customer_id]
        if event.kind == "purchase":
            activity.record_purchase(
                customer=customer,
                amount=row.amount,
                purchased_on=row.purchased_on,
                product_category=row.product_category,
            )
        elif event.kind == "interaction":
            activity.log_interaction(
                customer=customer,
                author=row.author,
                channel=row.channel,
                summary=row.summary,
                direction=row.direction,
                notes=row.notes,
                sentiment=row.sentiment,
                occurred_at=row.occurred_at,
                follow_up_on=row.follow_up_on,
            )
        elif event.kind == "complaint":
            opened[id(row)] = activity.open_complaint(
                customer=customer,
                by=row.owner,
                category=row.category,
                description=row.description,
                severity=row.severity,
                owner=row.owner,
                opened_at=row.opened_at,
            )
        elif event.kind == "resolve":
            complaint = opened.get(id(row), row)
            complaint.customer = customer
            activity.resolve_complaint(
                complaint=complaint, by=row.owner, resolution=event.extra["resolution"]
            )
        elif event.kind == "contract":
            activity.add_contract(
                customer=customer,
                title=row.title,
                starts_on=row.starts_on,
                ends_on=row.ends_on,
                value=row.value,
            )


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
            (customer, f"Win-back call: no purchase since {customer.last_purchase_on:%d %b %Y}",
             "call")
        )  # fmt: skip
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
