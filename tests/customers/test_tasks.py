"""The nightly value refresh runs in a real worker against the real database."""

from datetime import date, timedelta
from decimal import Decimal

import pytest

from bonding.celery import app
from customers import records
from customers.models import Customer, Purchase


def test_the_nightly_refresh_is_on_beats_schedule():
    entry = app.conf.beat_schedule["refresh-customer-values"]

    assert entry["task"] == "customers.tasks.refresh_values_task"


@pytest.mark.slow
def test_the_nightly_refresh_runs_in_a_worker(transactional_db, manager, celery_worker_process):
    from customers.tasks import refresh_values_task

    customer = records.create_customer(
        data={"first_name": "Ann", "email": "ann@example.com", "owner": manager}, by=manager
    )
    # Purchases written behind the services' back, as a bulk import would: nothing refreshed yet.
    Purchase.objects.bulk_create(
        Purchase(customer=customer, amount=Decimal("40"), purchased_on=date.today() - timedelta(d))
        for d in (20, 60, 100)
    )
    assert Customer.objects.get(pk=customer.pk).lifetime_value == 0

    outcome = refresh_values_task.delay().get(timeout=60)

    customer.refresh_from_db()
    assert outcome["customers"] == 1
    assert customer.lifetime_value == Decimal("120.00")
    assert customer.tier.slug == "repeat"
    assert customer.value_refreshed_at is not None
