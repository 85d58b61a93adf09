"""Enrolling many customers in batches (written by background threads with COPY) schedules
exactly the touches that placing each customer's steps one by one gives."""

from collections import Counter
from datetime import date, timedelta

import pytest
from django.db.models import Min
from django.utils import timezone

from customers.models import Channel, Contract, Customer
from programs import enrollment_writer, schedule
from programs.enrollment import enroll
from programs.models import Enrollment, Program, Step, Touch
from programs.placement import frequency_cap, new_touch, send_window, zone_of

ZONES = ["Europe/Paris", "America/New_York", "", "Australia/Sydney", "Not/AZone"]


def make_program() -> Program:
    program = Program.objects.create(name="Batches")
    steps = [
        ("welcome", Step.Anchor.ENROLLMENT, 0),
        ("soon", Step.Anchor.ENROLLMENT, 1),
        ("same day", Step.Anchor.ENROLLMENT, 1),  # three in two days: the cap defers one
        ("renewal", Step.Anchor.CONTRACT_END, -30),
        ("anniversary", Step.Anchor.ANNIVERSARY_ENROLLMENT, 0),
    ]
    for order, (name, anchor, offset) in enumerate(steps, start=1):
        Step.objects.create(
            program=program,
            order=order,
            name=name,
            anchor=anchor,
            offset_days=offset,
            fallbacks=[Channel.SMS],
        )
    return program


def make_customers(count: int) -> list[Customer]:
    customers = Customer.objects.bulk_create(
        Customer(
            first_name=f"B{n}",
            email=f"b{n}@example.com" if n % 7 else "",
            phone=f"+1415555{n:04d}",
            timezone=ZONES[n % len(ZONES)],
            consent_email=n % 5 != 0,
            consent_sms=n % 3 == 0,
            first_purchase_on=date(2024, 2, 29) if n % 4 == 0 else None,
        )
        for n in range(count)
    )
    today = date.today()
    Contract.objects.bulk_create(
        Contract(customer=c, title="Plan", starts_on=today, ends_on=today + timedelta(40 + n))
        for n, c in enumerate(customers)
        if n % 3 == 1
    )
    return customers


def one_by_one(program: Program, customer: Customer, now, booked: list | None = None) -> Counter:
    """The touches of one customer, each step placed in turn as the schedule says."""
    window, cap = send_window(), frequency_cap()
    zone = zone_of(customer)
    ends = Contract.objects.filter(customer=customer, ends_on__gte=now.date()).aggregate(
        ends=Min("ends_on")
    )["ends"]
    others = list(booked or [])
    touches = Counter()
    for step in program.steps.order_by("order"):
        anchor = schedule.anchor_date(
            kind=step.anchor,
            enrolled_on=now.astimezone(zone).date(),
            contract_ends_on=ends,
            first_purchase_on=customer.first_purchase_on,
        )
        if anchor is None:
            continue
        touch = new_touch(None, step, customer, 1, anchor, zone, window, cap, others, now)
        touches[(step.pk, touch.due_at, touch.channel, touch.status, touch.last_error)] += 1
    return touches


def stored(customer: Customer) -> Counter:
    return Counter(
        Touch.objects.filter(customer=customer).values_list(
            "step_id", "due_at", "channel", "status", "last_error"
        )
    )


def test_batches_written_in_the_background_match_placing_each_customer_alone(
    transactional_db,
):
    program = make_program()
    customers = make_customers(40)
    now = timezone.now()

    outcome = enroll(
        program=program, customers=Customer.objects.order_by("id"), now=now, batch_size=6
    )

    assert outcome.enrolled == 40
    assert outcome.skipped == []
    assert Enrollment.objects.filter(program=program, status="active").count() == 40
    assert outcome.touches == Touch.objects.count()
    for customer in customers:
        assert stored(customer) == one_by_one(program, customer, now), customer.first_name
    assert Touch.objects.filter(status="skipped").exists()  # no consent, no address
    assert Touch.objects.filter(step__name="renewal").count() == 13  # n % 3 == 1
    assert set(Touch.objects.values_list("occurrence", "attempts")) == {(1, 0)}


def test_touches_booked_in_other_programs_count_against_the_cap(transactional_db):
    program = make_program()
    ann = make_customers(2)[1]
    other = Program.objects.create(name="Earlier")
    Step.objects.create(program=other, order=1, name="earlier")
    now = timezone.now()
    enroll(program=other, customers=[ann], now=now)
    earlier = list(Touch.objects.filter(customer=ann).values_list("due_at", flat=True))

    enroll(program=program, customers=Customer.objects.filter(pk=ann.pk), now=now)

    ours = Counter({key: n for key, n in stored(ann).items() if key[0] != other.steps.get().pk})
    assert ours == one_by_one(program, ann, now, booked=earlier)
    assert ours != one_by_one(program, ann, now, booked=[])


@pytest.mark.django_db
def test_a_customer_listed_twice_is_enrolled_once():
    program = make_program()
    (ann,) = make_customers(2)[1:]

    outcome = enroll(program=program, customers=[ann, ann, ann], batch_size=1)

    assert outcome.enrolled == 1
    assert outcome.skipped == [{"customer": ann.pk, "reason": "already enrolled"}] * 2
    assert Enrollment.objects.filter(customer=ann).count() == 1


@pytest.mark.django_db(transaction=True)
def test_writer_threads_only_for_more_than_one_batch(monkeypatch):
    pools = []

    class CountedPool(enrollment_writer.ThreadPoolExecutor):
        def __init__(self, *args, **kwargs):
            pools.append(self)
            super().__init__(*args, **kwargs)

    monkeypatch.setattr(enrollment_writer, "ThreadPoolExecutor", CountedPool)
    program = make_program()
    one, *three = make_customers(4)

    # One customer, as a tier change enrolls them: written on this connection, no threads.
    assert enroll(program=program, customers=[one], batch_size=2).enrolled == 1
    assert pools == []
    # A full batch and a row past it: the writer threads take the batches.
    assert enroll(program=program, customers=three, batch_size=2).enrolled == 3
    assert len(pools) == 1
    assert Enrollment.objects.filter(program=program).count() == 4
