"""Every promoter is asked for a referral, once in a while, through a channel they allow."""

import logging
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from customers.models import Channel, Customer
from programs import schedule
from programs.enrollment import enroll
from programs.models import Program, PromoterAsk, Step, Touch
from programs.placement import address_for, frequency_cap, scheduled_times, send_window, zone_of

logger = logging.getLogger(__name__)


def ask_promoter(*, customer: Customer, now: datetime | None = None) -> str:
    """Ask a customer who just scored 9 or 10 for a referral; returns what was done.

    A refer-a-friend touch already coming is pulled forward to the next moment the send window
    and the frequency cap allow; otherwise the customer joins the program that asks promoters
    (its step goes out the same way). Nobody is asked twice within PROMOTER_ASK_DAYS, nor
    without consent on some channel.
    """
    now = now or timezone.now()
    with transaction.atomic():
        # One answer at a time per customer: two promoter answers at once ask once.
        customer = Customer.objects.select_for_update().get(pk=customer.pk)
        if customer.deleted_at:
            return "deleted"
        since = now - timedelta(days=settings.PROMOTER_ASK_DAYS)
        if PromoterAsk.objects.filter(customer=customer, asked_at__gt=since).exists():
            return "asked recently"
        if not any(
            customer.has_consent(channel) and address_for(customer, channel)
            for channel in Channel.values
        ):
            return "no consent"
        coming = (
            Touch.objects.select_for_update()
            .filter(
                customer=customer,
                step__kind=Step.Kind.REFER_FRIEND,
                status=Touch.Status.SCHEDULED,
                due_at__gt=now,
            )
            .order_by("due_at", "id")
            .first()
        )
        if coming is not None:
            return _pull_forward(coming, customer, now)
        return _enroll_in_ask_program(customer, now)


def _pull_forward(touch: Touch, customer: Customer, now: datetime) -> str:
    cap = frequency_cap()
    others = scheduled_times([customer.pk], since=now - cap.period)[customer.pk]
    others.remove(touch.due_at)  # the touch does not count against itself
    due = schedule.place(
        due=now, zone=zone_of(customer), window=send_window(), cap=cap, others=others
    )
    if due < touch.due_at:
        Touch.objects.filter(pk=touch.pk).update(due_at=due)
    PromoterAsk.objects.create(
        customer=customer, touch=touch, how=PromoterAsk.How.PULLED_FORWARD, asked_at=now
    )
    logger.info("promoter %s: referral touch %s pulled forward to %s", customer.pk, touch.pk, due)
    return "pulled forward"


def _enroll_in_ask_program(customer: Customer, now: datetime) -> str:
    program = (
        Program.objects.filter(asks_promoters=True, is_active=True).order_by("created_at").first()
    )
    if program is None:
        return "no program asks promoters"
    outcome = enroll(program=program, customers=[customer], now=now)
    if not outcome.enrolled:
        reason = outcome.skipped[0]["reason"] if outcome.skipped else "not enrolled"
        logger.info("promoter %s not asked: %s", customer.pk, reason)
        return reason
    touch = (
        Touch.objects.filter(
            customer=customer,
            enrollment__program=program,
            step__kind=Step.Kind.REFER_FRIEND,
            status__in=[Touch.Status.SCHEDULED, Touch.Status.HELD],
        )
        .order_by("-id")
        .first()
    )
    if touch is None:
        # Enrolled, but none of the step's channels is allowed: that is no ask.
        return "no consent on the step's channels"
    if touch.status == Touch.Status.HELD:
        # In the program's control group: counted as asked, so its lift stays honest.
        PromoterAsk.objects.create(
            customer=customer, touch=touch, how=PromoterAsk.How.ENROLLED, asked_at=now
        )
        return "held out"
    PromoterAsk.objects.create(
        customer=customer, touch=touch, how=PromoterAsk.How.ENROLLED, asked_at=now
    )
    return "enrolled"
