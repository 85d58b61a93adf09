"""Static lists: writes (make one, add and remove members, forget one) and the few reads that go
with them. Members are named by customer id or e-mail; each entry that names no customer the
author sees is reported by its index, and the others land."""

import csv
import io
from dataclasses import dataclass, field

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Count, Exists, OuterRef, QuerySet
from django.shortcuts import get_object_or_404
from django.utils import timezone
from django.utils.translation import gettext

from customers.models import Customer, StaticList, StaticListMember
from customers.queries import is_account_manager, sees_everyone, visible_customers

# One request's worth of entries (a file or an API call); bigger groups are segments.
MAX_ENTRIES = 10_000
MAX_ID = 2**63 - 1


@dataclass
class Outcome:
    """What a change of members did: how many changed, how many already were as asked, and the
    entries refused, by index, with why."""

    changed: int = 0
    unchanged: int = 0
    refused: list[dict] = field(default_factory=list)


def lists_for(user: AbstractBaseUser) -> QuerySet[StaticList]:
    """The static lists a user may use, with their member counts: their own; marketers and
    admins use everyone's."""
    lists = (
        StaticList.objects.select_related("owner")
        .annotate(size=Count("members"))
        .order_by("name", "id")
    )
    if sees_everyone(user):
        return lists
    if is_account_manager(user):
        return lists.filter(owner_id=user.pk)
    return lists.none()


def list_for(user: AbstractBaseUser, pk: int) -> StaticList:
    """One static list the user may use, or 404."""
    return get_object_or_404(lists_for(user), pk=pk)


def list_customers(static_list: StaticList) -> QuerySet[Customer]:
    """The list's customers that its author sees now (deleted ones and, for an account
    manager's list, those given to another owner drop out)."""
    on_list = StaticListMember.objects.filter(static_list=static_list, customer=OuterRef("pk"))
    return visible_customers(static_list.owner).filter(Exists(on_list))


def may_change(user: AbstractBaseUser, static_list: StaticList) -> bool:
    """Only the author changes a list (and admins, who may do anything)."""
    return static_list.owner_id == user.pk or user.is_staff


def resolve(*, user: AbstractBaseUser, entries: list[str]) -> tuple[list[int], list[dict]]:
    """The customers `entries` name (ids or e-mails) among those the user sees, in order and
    once each, and the entries refused: {"index", "value", "reason"}."""
    if len(entries) > MAX_ENTRIES:
        raise ValidationError(
            {"customers": [gettext("At most %(limit)s at a time.") % {"limit": f"{MAX_ENTRIES:,}"}]}
        )
    cleaned = [str(entry).strip() for entry in entries]
    ids = {e for e in cleaned if e.isdigit() and 0 < int(e) <= MAX_ID}
    emails = {e.lower() for e in cleaned if "@" in e}
    visible = visible_customers(user)
    by_id = set(visible.filter(pk__in=[int(e) for e in ids]).values_list("pk", flat=True))
    # E-mails are stored in lower case, one live customer each.
    by_email = dict(visible.filter(email__in=emails).values_list("email", "pk")) if emails else {}
    found: list[int] = []
    refused = []
    for index, entry in enumerate(cleaned):
        if entry in ids and int(entry) in by_id:
            pk = int(entry)
        elif entry.lower() in by_email:
            pk = by_email[entry.lower()]
        else:
            reason = (
                gettext("empty")
                if not entry
                else gettext("no such customer of yours")
                if entry in ids or "@" in entry
                else gettext("neither a customer id nor an e-mail address")
            )
            refused.append({"index": index, "value": entry[:200], "reason": reason})
            continue
        if pk not in found:
            found.append(pk)
    return found, refused


def entries_from_file(data: bytes) -> list[str]:
    """The first column of a CSV file of ids or e-mails (a header row, if any, skipped)."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ValidationError({"file": [gettext("The file is not UTF-8 text.")]}) from None
    rows = [row for row in csv.reader(io.StringIO(text)) if any(cell.strip() for cell in row)]
    cells = [row[0].strip() for row in rows]
    if cells and not cells[0].isdigit() and "@" not in cells[0]:
        cells = cells[1:]  # a header, e.g. "id" or "email"
    return cells


def create_list(
    *, owner: AbstractBaseUser, name: str, entries: list[str] = ()
) -> tuple[StaticList, Outcome]:
    """A new list of the owner's, with the customers `entries` name."""
    name = name.strip()
    if not name:
        raise ValidationError({"name": [gettext("Give the list a name.")]})
    if len(name) > 120:
        raise ValidationError({"name": [gettext("At most 120 characters.")]})
    found, refused = resolve(user=owner, entries=list(entries))
    stamp = timezone.now()
    try:
        with transaction.atomic():
            static_list = StaticList.objects.create(
                owner=owner, name=name, created_at=stamp, updated_at=stamp
            )
            StaticListMember.objects.bulk_create(
                StaticListMember(static_list=static_list, customer_id=pk, added_at=stamp)
                for pk in found
            )
    except IntegrityError:
        raise ValidationError(
            {"name": [gettext("You already have a list with this name.")]}
        ) from None
    return static_list, Outcome(changed=len(found), refused=refused)


def change_members(
    *, static_list: StaticList, by: AbstractBaseUser, add: list[str] = (), remove: list[str] = ()
) -> tuple[Outcome, Outcome]:
    """Add and remove members (by id or e-mail, among the customers `by` sees); the author's
    only. Returns what adding and what removing did."""
    if not may_change(by, static_list):
        raise PermissionDenied
    to_add, add_refused = resolve(user=by, entries=list(add))
    to_remove, remove_refused = resolve(user=by, entries=list(remove))
    stamp = timezone.now()
    with transaction.atomic():
        locked = StaticList.objects.select_for_update().get(pk=static_list.pk)
        already = set(
            StaticListMember.objects.filter(static_list=locked, customer_id__in=to_add).values_list(
                "customer_id", flat=True
            )
        )
        StaticListMember.objects.bulk_create(
            StaticListMember(static_list=locked, customer_id=pk, added_at=stamp)
            for pk in to_add
            if pk not in already
        )
        removed, _ = StaticListMember.objects.filter(
            static_list=locked, customer_id__in=to_remove
        ).delete()
        locked.updated_at = stamp
        locked.save(update_fields=["updated_at"])
    added = Outcome(changed=len(to_add) - len(already), unchanged=len(already), refused=add_refused)
    gone = Outcome(changed=removed, unchanged=len(to_remove) - removed, refused=remove_refused)
    return added, gone


def delete_list(*, static_list: StaticList, by: AbstractBaseUser) -> None:
    """Forget a list (the author's, or an admin's doing); its customers stay."""
    if not may_change(by, static_list):
        raise PermissionDenied
    static_list.delete()


def add_customers(
    *, static_list: StaticList, by: AbstractBaseUser, customers: QuerySet[Customer]
) -> Outcome:
    """Put the chosen customers (ticked on the list, or all its filter matches) on the list;
    the author's only, at most MAX_ENTRIES at a time."""
    if not may_change(by, static_list):
        raise PermissionDenied
    ids = list(customers.order_by().values_list("pk", flat=True)[: MAX_ENTRIES + 1])
    if len(ids) > MAX_ENTRIES:
        raise ValidationError(
            {
                "customers": [
                    gettext("At most %(limit)s at a time: narrow the filters.")
                    % {"limit": f"{MAX_ENTRIES:,}"}
                ]
            }
        )
    added, _ = change_members(static_list=static_list, by=by, add=[str(pk) for pk in ids])
    return added
