"""Which existing customer each incoming contact row is about, for a whole batch at once.

A row with an external id is that customer (live or deleted, as the sync has always done). A
row without one is the live customer with its e-mail address, else the live customer with its
phone number, else a new customer. Three queries a batch, whatever its size.
"""

from dataclasses import dataclass

from django.contrib.auth.models import User
from django.db.models import QuerySet
from django.utils.translation import gettext

from customers import queries
from customers.models import Customer
from customers.rows import CleanRow


@dataclass(frozen=True)
class Match:
    """The customer a row is about, and the field that found them."""

    customer: Customer
    key: str


def match_rows(*, rows: dict[int, CleanRow], by: User | None, lock: bool) -> dict[int, Match]:
    """The existing customer of each row (by index) that has one; rows without are new.

    `lock` takes the matched rows FOR UPDATE (the upsert writes them next). A phone number
    shared by several customers matches none of them and the row is refused: which one it
    means cannot be told. A phone match whose customer has another e-mail address is someone
    else (a household, a switchboard), so that row makes a new customer.
    """
    customers = Customer.objects.order_by("pk")
    if lock:
        customers = customers.select_for_update()
    matches: dict[int, Match] = {}
    keyed = {
        i: row.values["external_id"] for i, row in rows.items() if row.values.get("external_id")
    }
    if keyed:
        by_external_id = {
            c.external_id: c for c in customers.filter(external_id__in=keyed.values())
        }
        for index, external_id in keyed.items():
            if external_id in by_external_id:
                matches[index] = Match(by_external_id[external_id], "external_id")

    live = customers.filter(deleted_at__isnull=True)
    unkeyed = {i: row for i, row in rows.items() if i not in keyed}
    emails = {row.values["email"] for row in unkeyed.values() if row.values.get("email")}
    by_email = {c.email: c for c in live.filter(email__in=emails)} if emails else {}
    for index, row in unkeyed.items():
        if row.values.get("email") in by_email:
            matches[index] = Match(by_email[row.values["email"]], "email")

    by_phone = _by_phone(
        live,
        phones={row.values["phone"] for i, row in unkeyed.items() if _wants_phone(i, row, matches)},
        by=by,
    )
    for index, row in unkeyed.items():
        if not _wants_phone(index, row, matches) or row.values["phone"] not in by_phone:
            continue
        found = by_phone[row.values["phone"]]
        if len(found) > 1:
            row.fail(
                "phone",
                gettext("Several customers have this phone number: add their e-mail address."),
            )
        elif not (row.values.get("email") and found[0].email):
            matches[index] = Match(found[0], "phone")
    _refuse_second_rows_of_one_customer(rows, matches)
    return matches


def _wants_phone(index: int, row: CleanRow, matches: dict[int, Match]) -> bool:
    return index not in matches and bool(row.values.get("phone"))


def _by_phone(
    live: QuerySet[Customer], *, phones: set[str], by: User | None
) -> dict[str, list[Customer]]:
    if not phones:
        return {}
    # Phone numbers are not unique, so a match is looked for only among the customers the
    # sender may change: an account manager learns nothing of other managers' customers.
    if by is not None and not queries.sees_everyone(by):
        live = live.filter(owner_id=by.pk)
    found: dict[str, list[Customer]] = {}
    for customer in live.filter(phone__in=phones):
        found.setdefault(customer.phone, []).append(customer)
    return found


def _refuse_second_rows_of_one_customer(
    rows: dict[int, CleanRow], matches: dict[int, Match]
) -> None:
    first: dict[int, int] = {}
    for index in sorted(matches):
        pk = matches[index].customer.pk
        if pk in first:
            rows[index].fail(
                matches[index].key, gettext("Another row of this batch is about the same customer.")
            )
            del matches[index]
        else:
            first[pk] = index
