"""At risk of dropping a tier: My day, the dashboard, the customer list, and the programs a
review's warning enrolls the customer in."""

from datetime import timedelta

import pytest
from django.utils import timezone

from customers import placement, queries
from customers.models import Customer, Tier, TimelineEntry
from customers.signals import tier_at_risk
from programs.models import Enrollment, Program
from tests.factories import CustomerFactory, PurchaseFactory

pytestmark = pytest.mark.django_db


def _at_risk(owner, days: int = 20, **fields) -> Customer:
    customer = CustomerFactory(owner=owner, **fields)
    until = timezone.localdate() + timedelta(days=days)
    Customer.objects.filter(pk=customer.pk).update(tier_at_risk_until=until)
    return Customer.objects.get(pk=customer.pk)


def test_my_day_lists_my_customers_at_risk_of_dropping_soonest_first(
    client, manager, other_manager
):
    later = _at_risk(manager, days=40, first_name="Later")
    sooner = _at_risk(manager, days=5, first_name="Sooner")
    _at_risk(other_manager, first_name="Theirs")
    CustomerFactory(owner=manager, first_name="Safe")

    assert queries.my_day(manager).dropping == [sooner, later]
    client.force_login(manager)
    content = client.get("/my-day/").content.decode()
    section = content[content.index("My customers at risk of dropping a tier") :]
    section = section[: section.index("</section>")]
    assert section.index("Sooner") < section.index("Later")
    assert "Theirs" not in section and "Safe" not in section


def test_the_dashboard_counts_them_and_links_to_the_list(client, marketer, manager):
    _at_risk(manager, first_name="Dora")
    _at_risk(manager, first_name="Eve", audience="b2b")
    CustomerFactory(owner=manager, first_name="Safe")
    client.force_login(marketer)

    content = client.get("/").content.decode()
    assert '<a href="/customers/?dropping=true"><strong>2</strong> customers</a>' in content
    assert "<strong>1</strong> customer</a>" in client.get("/?audience=b2b").content.decode()
    listed = client.get("/customers/?dropping=true").content.decode()
    assert "Dora" in listed and "Eve" in listed and "Safe" not in listed


def test_a_review_that_finds_a_customer_short_warns_them_and_enrolls_them(
    manager, django_capture_on_commit_callbacks
):
    keep_status = Program.objects.create(name="Keep your status", enroll_when_at_risk=True)
    customer = CustomerFactory(
        owner=manager,
        tier=Tier.objects.get(slug="repeat"),
        tier_review_on=timezone.localdate(),
        consent_email=True,
    )
    PurchaseFactory(customer=customer)
    heard = []

    def receiver(sender, customer, tier, until, to_keep, **kwargs):
        heard.append((tier.slug, until, to_keep))

    tier_at_risk.connect(receiver)
    try:
        with django_capture_on_commit_callbacks(execute=True):
            placement.place_customer(customer=customer)
    finally:
        tier_at_risk.disconnect(receiver)

    until = timezone.localdate() + timedelta(days=60)
    assert heard == [("repeat", until, ["1 more purchase in the last 12 months"])]
    line = TimelineEntry.objects.get(customer=customer, kind="tier_at_risk")
    assert line.title == (
        f"At risk of dropping from Repeat customer after {until.isoformat()}: to keep it, "
        "1 more purchase in the last 12 months"
    )
    assert Enrollment.objects.filter(customer=customer, program=keep_status).exists()
    customer.refresh_from_db()
    assert (customer.tier.slug, customer.tier_at_risk_until) == ("repeat", until)
