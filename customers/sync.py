"""The bulk upsert shared by the API and the CSV import, and bulk purchases."""

import dataclasses
from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth.models import User
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext

from customers import (
    activity,
    announce,
    matching,
    placement,
    preferences,
    queries,
    records,
    referrals,
)
from customers.models import Account, Channel, ConsentChange, Customer, Purchase, Referral, Tier
from customers.rows import CleanRow, clean_row

# Queues a refresh of the value figures, tier and bond of these customers: the caller passes
# refresh_customers_task.delay, as the tasks import this module and not the other way round.
RefreshLater = Callable[[list[int]], object]


@dataclasses.dataclass
class UpsertOutcome:
    """What a bulk upsert did: counts, the rows refused (by index) and the customers touched."""

    created: int = 0
    updated: int = 0
    unchanged: int = 0
    errors: list[dict[str, Any]] = dataclasses.field(default_factory=list)
    purchases_created: int = 0
    # index in the request -> customer id, for every row that landed (or was already there)
    customer_ids: dict[int, int] = dataclasses.field(default_factory=dict)
    # A dry run's plan: index -> "create", "update" or "unchanged", for every good row.
    planned: dict[int, str] = dataclasses.field(default_factory=dict)


# Fields a sync row may set, in the order the upsert writes them.
SYNCED_FIELDS = (
    "first_name",
    "last_name",
    "email",
    "phone",
    "postal_address",
    "account_id",
    "audience",
    "relationship",
    "partner_kind",
    "owner_id",
    "timezone",
    "preferred_channel",
    "frequency",
    "language",
    "estimated_wallet",
)


NEW_CUSTOMER_DEFAULTS = {
    "first_name": "",
    "last_name": "",
    "email": "",
    "phone": "",
    "postal_address": "",
    "account_id": None,
    "audience": "retail",
    "relationship": "prospect",
    "partner_kind": "",
    "owner_id": None,
    "timezone": "",
    "preferred_channel": "email",
    "frequency": "usual",
    "language": "",
    "estimated_wallet": None,
}


def upsert_customers(
    *,
    rows: list[Any],
    by: User | None,
    refresh_later: RefreshLater,
    source: str = "API sync",
    require_external_id: bool = True,
    allow_tier: bool = False,
    dry_run: bool = False,
) -> UpsertOutcome:
    """Create or update customers, many at once, in one set-based statement.

    A row is the customer with its external_id; without one (when not required) the live
    customer with its e-mail, then its phone (`matching`), else a new customer. Every row is
    checked first; the good ones land together and the bad ones come back by index with their
    field errors. A row equal to what is stored is counted unchanged and its updated_at is
    left alone. Nested purchases are added once, keyed by their own external_id. When
    purchases or consents changed, `refresh_later` is called after commit. Rows may name a
    tier when `allow_tier` (the CSV import): the move is recorded as one by hand. A `dry_run`
    checks and counts the same way and writes nothing.
    """
    outcome = UpsertOutcome()
    cleaned = [
        clean_row(
            raw,
            phone_region=settings.PHONE_REGION,
            require_external_id=require_external_id,
            allow_tier=allow_tier,
        )
        for raw in rows
    ]
    _refuse_repeats(cleaned)
    with transaction.atomic():
        candidates = {i: row for i, row in enumerate(cleaned) if not row.errors}
        found = matching.match_rows(rows=candidates, by=by, lock=not dry_run)
        existing = {index: match.customer for index, match in found.items()}
        owners = _owners_by_username(candidates.values())
        _check_rows_against_database(candidates, found, owners, by)
        referred = _referrals_named(candidates, found, lock=not dry_run)
        chosen = preferences.check_row_topics(
            candidates, [match.customer.pk for match in found.values()]
        )
        account_ids = _account_ids(
            {row.values["account"] for row in candidates.values() if row.values.get("account")}
            if candidates
            else set(),
            ready=[row for row in candidates.values() if not row.errors],
            create=not dry_run,
        )
        now = timezone.now()
        rungs = list(Tier.objects.order_by("rank"))
        lowest = rungs[0] if rungs else None
        tiers = _tiers_named(candidates, rungs)
        tier_moves: list[tuple[Customer, Tier | None, Tier]] = []
        to_write: list[tuple[int, Customer, bool]] = []
        existing_owners = {customer.pk: customer.owner_id for customer in existing.values()}
        owner_moves: dict[int, tuple[int | None, int | None]] = {}
        consent_changes: list[ConsentChange] = []
        for index, row in candidates.items():
            if row.errors:
                continue
            values = dict(row.values)
            external_id = values.pop("external_id", None)
            values.pop("account", None)
            if "account" in row.values:
                values["account_id"] = account_ids.get(row.values["account"])
            if "owner" in row.values:
                username = values.pop("owner")
                values["owner_id"] = owners[username].pk if username else None
            elif index not in existing and by is not None and not queries.sees_everyone(by):
                values["owner_id"] = by.pk  # an account manager owns what they send
            tier = tiers[values.pop("tier").casefold()] if "tier" in values else None
            customer = existing.get(index)
            if customer is None:
                merged = {**NEW_CUSTOMER_DEFAULTS, **values}
                if not (merged["first_name"] or merged["last_name"] or merged["email"]):
                    row.fail(
                        "non_field_errors", gettext("A customer needs a name or an e-mail address.")
                    )
                    continue
                customer = Customer(
                    external_id=external_id,
                    **merged,
                    **{f"consent_{c}": row.consents.get(c, False) for c in Channel.values},
                    tier=tier or lowest,
                    highest_tier=tier or lowest,
                    manual_tier_until=_held_until() if tier else None,
                    created_at=now,
                    updated_at=now,
                )
                to_write.append((index, customer, True))
                if tier:
                    tier_moves.append((customer, None, tier))
                consent_changes += [
                    ConsentChange(
                        customer=customer,
                        channel=c,
                        granted=True,
                        source=source,
                        changed_by=by,
                        changed_at=now,
                    )
                    for c, granted in row.consents.items()
                    if granted
                ]
                continue
            changed = {
                name: value for name, value in values.items() if getattr(customer, name) != value
            }
            consents = {
                c: granted
                for c, granted in row.consents.items()
                if getattr(customer, f"consent_{c}") != granted
            }
            outcome.customer_ids[index] = customer.pk
            moved = tier is not None and customer.tier_id != tier.pk
            topics_changed = row.topics is not None and set(row.topics) != chosen.get(
                customer.pk, set()
            )
            if not changed and not consents and not moved and not topics_changed:
                outcome.unchanged += 1
                continue
            if tier is not None and moved:
                tier_moves.append((customer, _tier_of(customer.tier_id, rungs), tier))
                _put_on(customer, tier, rungs)
            for name, value in changed.items():
                setattr(customer, name, value)
            for c, granted in consents.items():
                setattr(customer, f"consent_{c}", granted)
                consent_changes.append(
                    ConsentChange(
                        customer=customer,
                        channel=c,
                        granted=granted,
                        source=source,
                        changed_by=by,
                        changed_at=now,
                    )
                )
            customer.updated_at = now
            to_write.append((index, customer, False))
            if "owner_id" in changed:
                owner_moves[customer.pk] = (existing_owners[customer.pk], customer.owner_id)

        if dry_run:
            outcome.planned = dict.fromkeys(outcome.customer_ids, "unchanged")
            outcome.planned.update(
                {index: "create" if is_new else "update" for index, _, is_new in to_write}
            )
            outcome.created = sum(1 for _, _, is_new in to_write if is_new)
            outcome.updated = len(to_write) - outcome.created
            return _with_errors(outcome, rows=rows, cleaned=cleaned)
        written = _write_customers(
            [customer for _, customer, _ in to_write], with_tier=bool(tier_moves)
        )
        for index, customer, is_new in to_write:
            if customer.pk is None or customer.pk not in written:
                cleaned[index].fail(
                    "non_field_errors",
                    gettext("Conflicts with another customer (e-mail or external_id)."),
                )
                continue
            outcome.customer_ids[index] = customer.pk
            if is_new:
                outcome.created += 1
            else:
                outcome.updated += 1
        ConsentChange.objects.bulk_create(
            [change for change in consent_changes if change.customer.pk in written]
        )
        new_topics = {
            customer.pk: topics
            for index, customer, is_new in to_write
            if customer.pk in written
            and (topics := cleaned[index].topics) is not None
            and set(topics) != (set() if is_new else chosen.get(customer.pk, set()))
        }
        preferences.set_topics_of(topics=new_topics)
        preferences.note_topics_set(
            customers=[c for _, c, _ in to_write if c.pk in new_topics],
            topics=new_topics,
            source=source,
            now=now,
        )
        for type, is_new in (("customer.created", True), ("customer.updated", False)):
            announce.customers_changed(
                type,
                [c for _, c, new in to_write if new == is_new and c.pk in written],
                now=now,
            )
        placement.record_imported_moves(
            moves=[move for move in tier_moves if move[0].pk in written],
            by=by,
            source=source,
        )
        activity.move_open_follow_ups(
            moves=[(pk, *owners) for pk, owners in owner_moves.items() if pk in written]
        )
        for index, customer, is_new in to_write:
            if is_new and customer.pk in written and index in referred:
                referrals.link_friend(referral=referred[index], friend=customer, now=now)
        outcome.purchases_created = _insert_purchases(
            {outcome.customer_ids[i]: cleaned[i].purchases for i in outcome.customer_ids}
        )
        touched = list(outcome.customer_ids.values())
        if outcome.purchases_created or consent_changes:
            transaction.on_commit(lambda: _refresh_later(refresh_later, touched))
    return _with_errors(outcome, rows=rows, cleaned=cleaned)


def _with_errors(
    outcome: UpsertOutcome, *, rows: list[Any], cleaned: list[CleanRow]
) -> UpsertOutcome:
    for index, row in enumerate(cleaned):
        if row.errors:
            raw = rows[index] if isinstance(rows[index], dict) else {}
            outcome.errors.append(
                {"index": index, "external_id": raw.get("external_id"), "errors": row.errors}
            )
    return outcome


def _refresh_later(refresh_later: RefreshLater, customer_ids: list[int]) -> None:
    for start in range(0, len(customer_ids), 500):
        refresh_later(customer_ids[start : start + 500])


def _refuse_repeats(rows: list[CleanRow]) -> None:
    """The same external_id or e-mail twice in one request: the later rows are refused."""
    seen_ids: set[str] = set()
    seen_emails: set[str] = set()
    for row in rows:
        external_id = row.values.get("external_id")
        if external_id in seen_ids:
            row.fail("external_id", gettext("Appears more than once in this batch."))
        elif external_id:
            seen_ids.add(external_id)
        email = row.values.get("email")
        if email and email in seen_emails:
            row.fail("email", gettext("Appears more than once in this batch."))
        elif email:
            seen_emails.add(email)


def _owners_by_username(rows) -> dict[str, User]:
    from django.contrib.auth import get_user_model

    names = {row.values["owner"] for row in rows if row.values.get("owner")}
    if not names:
        return {}
    return {user.username: user for user in get_user_model().objects.filter(username__in=names)}


def _check_rows_against_database(
    candidates: dict[int, CleanRow],
    found: dict[int, matching.Match],
    owners: dict[str, User],
    by: User | None,
) -> None:
    """Owners that exist, e-mails not taken by another live customer, and the ownership rule."""
    # None when the caller may change every customer, else the one owner they may act as.
    limited_to = None if by is None or queries.sees_everyone(by) else by
    for index, row in candidates.items():
        match = found.get(index)
        customer = match.customer if match else None
        username = row.values.get("owner")
        # Checked first: an account manager learns nothing of which other usernames exist.
        if username and limited_to and username != limited_to.get_username():
            row.fail("owner", gettext("You may only assign customers to yourself."))
        elif username and username not in owners:
            row.fail("owner", gettext("No user “%(username)s”.") % {"username": username})
        if customer is not None and customer.deleted_at is not None:
            row.fail(
                "external_id", gettext("This customer was deleted; restore it in Bonding first.")
            )
        elif match is not None and limited_to and match.customer.owner_id != limited_to.pk:
            row.fail(match.key, gettext("Belongs to a customer you cannot change."))
    emails = {row.values["email"] for row in candidates.values() if row.values.get("email")}
    taken = dict(
        Customer.objects.filter(deleted_at__isnull=True, email__in=emails)
        .order_by()
        .values_list("email", "pk")
    )
    for index, row in candidates.items():
        email = row.values.get("email")
        match = found.get(index)
        if email in taken and (match is None or taken[email] != match.customer.pk):
            row.fail("email", gettext("Another customer already has this e-mail address."))


def _referrals_named(
    candidates: dict[int, CleanRow], found: dict[int, matching.Match], *, lock: bool
) -> dict[int, Referral]:
    """The referral each good row for a new customer names by its code, by index.

    A code that is unknown or withdrawn, or already some other person's, fails its row. An
    existing customer may only repeat the code they signed up with (a sync sent again).
    """
    codes = {row.referral_code for row in candidates.values() if row.referral_code}
    if not codes:
        return {}
    named_by = Referral.objects.select_related("referrer__owner").filter(
        code__in=codes, referrer__deleted_at__isnull=True
    )
    if lock:
        named_by = named_by.select_for_update(of=("self",))
    by_code = {referral.code: referral for referral in named_by}
    named: dict[int, Referral] = {}
    taken: set[str] = set()
    for index, row in sorted(candidates.items()):
        if not row.referral_code or row.errors:
            continue
        referral = by_code.get(row.referral_code)
        match = found.get(index)
        if referral is None or referral.status == Referral.Status.EXPIRED:
            row.fail("referral_code", gettext("No such referral code (or it was withdrawn)."))
        elif match is not None:
            if referral.referred_customer_id != match.customer.pk:
                row.fail(
                    "referral_code", gettext("Only a new customer can come with a referral code.")
                )
        elif referral.referred_customer_id is not None or referral.code in taken:
            row.fail(
                "referral_code",
                gettext("Someone has already signed up with this referral code."),
            )
        else:
            named[index] = referral
            taken.add(referral.code)
    return named


def _account_ids(names: set[str], *, ready: list[CleanRow], create: bool) -> dict[str, int]:
    """Accounts by name, creating the ones a good row names for the first time."""
    if not names:
        return {}
    found = dict(Account.objects.filter(name__in=names).values_list("name", "id"))
    wanted = {row.values["account"] for row in ready if row.values.get("account")}
    missing = sorted(wanted - set(found))
    if missing and not create:
        # A dry run: 0 is no account's id, so a customer given a new account counts as changed.
        found.update(dict.fromkeys(missing, 0))
    elif missing:
        Account.objects.bulk_create([Account(name=name) for name in missing])
        found.update(Account.objects.filter(name__in=missing).values_list("name", "id"))
    return found


def _tiers_named(candidates: dict[int, CleanRow], rungs: list[Tier]) -> dict[str, Tier]:
    """The ladder's tiers by slug and by name (case aside); rows naming another are refused."""
    tiers = {name.casefold(): tier for tier in rungs for name in (tier.slug, tier.name)}
    for row in candidates.values():
        named = row.values.get("tier")
        if named and named.casefold() not in tiers:
            choices = ", ".join(tier.name for tier in rungs)
            row.fail(
                "tier",
                gettext("“%(named)s” is not a tier of the ladder: %(choices)s.")
                % {"named": named, "choices": choices},
            )
    return tiers


def _tier_of(tier_id: int | None, rungs: list[Tier]) -> Tier | None:
    return next((tier for tier in rungs if tier.pk == tier_id), None)


def _put_on(customer: Customer, tier: Tier, rungs: list[Tier]) -> None:
    """Set a customer's tier as a hand move does: held there, and the highest tier kept."""
    highest = _tier_of(customer.highest_tier_id, rungs)
    customer.tier = tier
    if highest is None or tier.rank > highest.rank:
        customer.highest_tier = tier
    customer.manual_tier_until = _held_until()


def _held_until() -> date:
    """Until when the rules leave an imported tier be: as long as a move by hand (set_tier)."""
    return timezone.localdate() + timedelta(days=settings.MANUAL_TIER_HOLD_DAYS)


def _write_customers(customers: list[Customer], *, with_tier: bool = False) -> set[int]:
    """One INSERT ... ON CONFLICT DO UPDATE for all; row by row only on a race.

    Customers with an external_id meet their row by it (another writer may have just created
    it); customers without one are new, or were found by e-mail or phone and meet it by id.
    The tier is written only `with_tier` (an import's tier column), else left to the ladder.
    """
    if not customers:
        return set()
    fields = [*SYNCED_FIELDS, *records.CONSENT_FIELDS, "updated_at"]
    if with_tier:
        fields += ["tier", "highest_tier", "manual_tier_until"]
    try:
        with transaction.atomic():
            for group, unique_field in _by_unique_field(customers):
                _insert_or_update(group, unique_field, fields)
        return {customer.pk for customer in customers}
    except IntegrityError:
        # Another writer took an e-mail between our check and the write: find the rows it hit.
        written = set()
        for customer in customers:
            is_new = customer._state.adding
            try:
                with transaction.atomic():
                    unique_field = "external_id" if customer.external_id else "pk"
                    _insert_or_update([customer], unique_field, fields)
                written.add(customer.pk)
            except IntegrityError:
                if is_new:
                    customer.pk = None
        return written


def _by_unique_field(customers: list[Customer]) -> list[tuple[list[Customer], str]]:
    keyed = [customer for customer in customers if customer.external_id]
    unkeyed = [customer for customer in customers if not customer.external_id]
    return [(group, field) for group, field in ((keyed, "external_id"), (unkeyed, "pk")) if group]


def _insert_or_update(customers: list[Customer], unique_field: str, fields: list[str]) -> None:
    Customer.objects.bulk_create(
        customers, update_conflicts=True, unique_fields=[unique_field], update_fields=fields
    )


@transaction.atomic
def add_purchases(
    *, by_customer: dict[int, list[dict[str, Any]]], refresh_later: RefreshLater
) -> int:
    """Add many purchases at once (by customer id); known external_ids are left alone.

    The customers' value figures and tiers are refreshed by a worker after commit
    (`refresh_later`).
    """
    created = _insert_purchases(by_customer)
    if created:
        customer_ids = list(by_customer)
        transaction.on_commit(lambda: _refresh_later(refresh_later, customer_ids))
    return created


def _insert_purchases(by_customer: dict[int, list[dict[str, Any]]]) -> int:
    """Insert the purchases not yet known by external_id; returns how many were new."""
    wanted = {
        purchase["external_id"]: (customer_id, purchase)
        for customer_id, purchases in by_customer.items()
        for purchase in purchases
    }
    if not wanted:
        return 0
    known = set(
        Purchase.objects.filter(external_id__in=list(wanted)).values_list("external_id", flat=True)
    )
    new = [
        Purchase(customer_id=customer_id, **purchase)
        for external_id, (customer_id, purchase) in wanted.items()
        if external_id not in known
    ]
    Purchase.objects.bulk_create(new, ignore_conflicts=True)
    # Ignored conflicts leave no ids: the purchases are read back as stored.
    announce.records_logged(
        "purchase.recorded",
        "purchase",
        list(
            Purchase.objects.filter(
                external_id__in=[purchase.external_id for purchase in new]
            ).order_by("pk")
        )
        if new
        else [],
    )
    activity.convert_first_purchases(
        customer_ids={purchase.customer_id for purchase in new if purchase.amount > 0}
    )
    return len(new)
