"""Referrals that convert: a friend signs up with a customer's code, then buys.

A code is one friend's: the first person to sign up with it is the friend, and signing up again
with the same details changes nothing. The referral then converts once, on the friend's first
purchase (or when a marketer marks it).
"""

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy, gettext_noop

from customers import activity, announce, matching, records, timeline
from customers.models import Customer, Referral, Relationship, TimelineEntry
from customers.rows import CleanRow
from customers.sayings import choice, said

SAME_MOMENT = gettext_lazy(
    "Someone signed up with these details just now: please send the form again."
)
# Referral codes are read out and typed: compare them upper-case and trimmed.
CODE_LENGTH = 32


def normal_code(code: str) -> str:
    return code.strip().upper()[:CODE_LENGTH]


def open_referral(code: str) -> Referral | None:
    """The referral a code names, if a friend may still sign up with it (not withdrawn, and
    its referrer still a customer)."""
    return (
        Referral.objects.select_related("referrer")
        .filter(code=normal_code(code), referrer__deleted_at__isnull=True)
        .exclude(status=Referral.Status.EXPIRED)
        .first()
    )


@dataclass(frozen=True)
class SignUp:
    """What signing up did: the friend, and whether this request changed anything."""

    friend: Customer | None
    signed_up: bool
    errors: dict[str, list[str]]


@transaction.atomic
def sign_up_friend(*, referral: Referral, row: CleanRow, now: datetime | None = None) -> SignUp:
    """The friend of `referral`'s referrer left their details (a clean row: names, e-mail
    and/or phone, consents): they are matched by e-mail or phone, or created as a prospect,
    the referral is theirs, both timelines say so, and the referrer's manager is asked to
    thank them. Refused (errors, nothing changed) when the code is someone else's already."""
    now = now or timezone.now()
    referral = (
        Referral.objects.select_for_update(of=("self",))
        .select_related("referrer__owner")
        .get(pk=referral.pk)
    )
    if referral.status == Referral.Status.EXPIRED:
        return SignUp(None, False, {"code": ["This referral code was withdrawn."]})
    found = matching.match_rows(rows={0: row}, by=None, lock=True)
    if row.errors:
        return SignUp(None, False, row.errors)
    friend = found[0].customer if 0 in found else None
    if friend is not None and friend.pk == referral.referrer_id:
        return SignUp(None, False, {"email": ["This is the code you pass on to your friends."]})
    if referral.referred_customer_id is not None:
        if friend is not None and friend.pk == referral.referred_customer_id:
            return SignUp(friend, False, {})
        return SignUp(None, False, {"code": ["Someone has already signed up with this code."]})
    if friend is None:
        try:
            with transaction.atomic():
                friend = _new_prospect(referral=referral, row=row, now=now)
        except (IntegrityError, ValidationError):
            # The same e-mail or phone signed up through another code at the same moment (its
            # insert or its commit came first): sending again finds that customer. The page is
            # public, so it says no more than that.
            return SignUp(None, False, {"email": [str(SAME_MOMENT)]})
    else:
        for channel, granted in row.consents.items():
            if granted:
                records.set_consent(
                    customer=friend,
                    channel=channel,
                    granted=True,
                    source=f"referral page ({referral.code})",
                    now=now,
                )
    link_friend(referral=referral, friend=friend, now=now)
    return SignUp(friend, True, {})


def _new_prospect(*, referral: Referral, row: CleanRow, now: datetime) -> Customer:
    data: dict[str, Any] = {
        name: row.values[name]
        for name in ("first_name", "last_name", "email", "phone")
        if name in row.values
    }
    data["relationship"] = Relationship.PROSPECT
    data["owner"] = referral.referrer.owner
    data |= {f"consent_{channel}": granted for channel, granted in row.consents.items()}
    return records.create_customer(
        data=data, by=None, consent_source=f"referral page ({referral.code})", now=now
    )


def link_friend(*, referral: Referral, friend: Customer, now: datetime) -> None:
    """Make `friend` the referred customer of a (locked) referral with none yet: the status
    moves to signed up, both timelines tell of it, and the referrer is thanked."""
    name = str(friend)
    Referral.objects.filter(pk=referral.pk).update(
        referred_customer=friend,
        referred_name=referral.referred_name or name[:200],
        referred_email=referral.referred_email or friend.email,
        status=Referral.Status.SIGNED_UP,
        updated_at=now,
    )
    referral.referred_customer, referral.status = friend, Referral.Status.SIGNED_UP
    referral.referred_name = referral.referred_name or name[:200]
    referral.referred_email = referral.referred_email or friend.email
    referral.updated_at = now
    announce.referral_moved("referral.signed_up", referral, now=now)
    referrer = referral.referrer
    timeline.note_many_on_timeline(
        entries=[
            TimelineEntry(
                customer=referrer,
                kind=TimelineEntry.Kind.REFERRAL,
                **said(
                    gettext_noop("%(name)s signed up with referral code %(code)s"),
                    name=name,
                    code=referral.code,
                ),
                occurred_at=now,
                source_id=referral.pk,
            ),
            TimelineEntry(
                customer=friend,
                kind=TimelineEntry.Kind.REFERRAL,
                **said(
                    gettext_noop("Referred by %(name)s (code %(code)s)"),
                    name=referrer,
                    code=referral.code,
                ),
                occurred_at=now,
                source_id=referral.pk,
            ),
        ]
    )
    _thank_referrer(referral=referral, friend=friend, now=now)


def _thank_referrer(*, referral: Referral, friend: Customer, now: datetime) -> None:
    # A follow-up for the referrer's manager, by the channel the referrer prefers: the thanks
    # is personal, and the manager sees it on My day (or whoever takes the customer over).
    referrer = referral.referrer
    activity.schedule_follow_up(
        customer=referrer,
        assignee=referrer.owner,
        due_at=now + timedelta(days=1),
        **said(
            gettext_noop("Thank %(referrer)s (%(channel)s) for referring %(friend)s"),
            field="reason",
            referrer=referrer,
            channel=choice("channel_in_a_sentence", referrer.preferred_channel),
            friend=friend,
        ),
        source="referral",
        now=now,
        may_wait_for_owner=True,
    )
