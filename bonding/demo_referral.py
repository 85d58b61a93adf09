"""The demo's referral that starts from a promoter's answer, each step through the service a
real one goes through: the answer is recorded (record_response), the promoter is asked for a
referral (the ask touch, sent with their code as its referral_url), the friend signs up with
the code as /r/<code>/ does, and the friend's first purchase converts the referral, paying
both sides once by the reward rules."""

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from django.conf import settings
from django.db.models import Q
from django.utils import timezone

from customers import activity, referrals
from customers.models import Customer, Referral
from customers.rows import clean_row
from nps import services as nps_services
from nps.models import Invitation, Response, Survey
from programs import content, promoter_ask
from programs.models import PromoterAsk, Touch
from programs.settlement import settle


@dataclass(frozen=True)
class PromoterReferral:
    """What the chain left: the promoter, the touch that asked, the referral and the friend."""

    promoter: Customer
    touch: Touch
    referral: Referral
    friend: Customer


def promoter_refers_a_friend(
    *, promoter: Customer, friend_name: str, friend_email: str, now: datetime | None = None
) -> PromoterReferral | None:
    """Run the chain for one promoter (who must have consent on some channel); None when the
    promoter was not asked (asked recently, no consent, no open survey)."""
    now = now or timezone.now()
    survey = Survey.objects.filter(is_active=True).order_by("id").first()
    if survey is None:
        return None
    invited = nps_services.invite(survey=survey, customers=[promoter], now=now).invited
    if not invited:
        return None
    nps_services.record_response(
        invitation=invited[0], score_value=10, why="They remember my name and my coffee."
    )
    # The answer's signal asks on commit; asking here too changes nothing then (once per
    # period), and lets the chain run inside an outer transaction (the seed's own tests).
    promoter_ask.ask_promoter(customer=promoter, now=now)
    ask = PromoterAsk.objects.filter(customer=promoter, touch__isnull=False).last()
    if ask is None:
        return None
    touch = Touch.objects.select_related("step", "enrollment", "customer").get(pk=ask.touch_id)
    if touch.status != Touch.Status.SCHEDULED:
        return None
    # Sent now, as the delivery loop records it (the demo's day is inside the send window);
    # the code is the one its referral_url carries (content.open_referral_code, made once).
    code = content.open_referral_code(promoter)
    Touch.objects.filter(pk=touch.pk).update(
        status=Touch.Status.SENT, due_at=now, sent_at=now, unsettled=True, attempts=1
    )
    touch.refresh_from_db()
    settle([touch], now=now)
    referral = referrals.open_referral(code)
    assert referral is not None  # made just above, open until a friend uses it
    first, _, last = friend_name.partition(" ")
    row = clean_row(
        {
            "first_name": first,
            "last_name": last,
            "email": friend_email,
            "consents": {"email": True},
        },
        phone_region=settings.PHONE_REGION,
        require_external_id=False,
    )
    outcome = referrals.sign_up_friend(referral=referral, row=row, now=now)
    if outcome.errors:
        return None
    referral.refresh_from_db()
    friend = referral.referred_customer
    activity.record_purchase(
        customer=friend,
        amount=Decimal("42.00"),
        purchased_on=timezone.localdate(now),
        product_category="coffee",
        now=now,
    )
    referral.refresh_from_db()
    return PromoterReferral(promoter=promoter, touch=touch, referral=referral, friend=friend)


def a_promoter(*, exclude: list[int] | None = None) -> Customer | None:
    """A demo customer who may be asked: e-mail consent and an address, not asked before, and
    outside the survey's fatigue window (so the demo's invitation records no skip of its own)."""
    window_start = timezone.now() - timedelta(days=settings.SURVEY_FATIGUE_DAYS)
    lately = Q(pk__in=Invitation.objects.filter(sent_at__gte=window_start).values("customer_id"))
    lately |= Q(pk__in=Response.objects.filter(answered_at__gte=window_start).values("customer_id"))
    return (
        Customer.objects.filter(
            external_id__startswith="demo-",
            deleted_at__isnull=True,
            consent_email=True,
            email_suspended_at__isnull=True,
        )
        .exclude(email="")
        .exclude(Q(pk__in=exclude or []) | Q(pk__in=PromoterAsk.objects.values("customer_id")))
        .exclude(lately)
        .order_by("id")
        .first()
    )


def seed_promoter_referral(*, tries: int = 20) -> PromoterReferral | None:
    """The demo's one referral from a promoter's answer: the first demo customer the survey may
    ask again (the survey's fatigue window skips the others) and no one asked before."""
    tried: list[int] = []
    for _ in range(tries):
        promoter = a_promoter(exclude=tried)
        if promoter is None:
            return None
        tried.append(promoter.pk)
        chain = promoter_refers_a_friend(
            promoter=promoter, friend_name="Frida Lind", friend_email="frida.lind@example.com"
        )
        if chain is not None:
            return chain
    return None
