"""An account manager's morning: My day, a customer at risk, a call logged, work closed."""

from datetime import timedelta

import pytest
from django.utils import timezone

from customers import activity, records
from customers.models import Customer, Interaction
from tests.e2e.conftest import assert_accessible, sign_in

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def at_risk(people):
    manager = people["manager"]
    customer = records.create_customer(
        data={
            "first_name": "Rita",
            "last_name": "Risk",
            "email": "rita@example.com",
            "owner": manager,
            "consent_email": True,
        },
        by=manager,
    )
    activity.open_complaint(
        customer=customer, by=manager, category="Billing", description="Charged twice"
    )
    activity.schedule_follow_up(
        customer=customer,
        assignee=manager,
        due_at=timezone.now() - timedelta(hours=2),
        reason="Call Rita back about the refund",
    )
    Customer.objects.filter(pk=customer.pk).update(churn_risk=85)
    return customer


def test_an_account_manager_works_through_my_day(page, live_server, people, at_risk):
    theirs = records.create_customer(
        data={"first_name": "Other", "email": "other@example.com", "owner": people["other"]},
        by=people["other"],
    )
    sign_in(page, live_server, "alex")

    page.get_by_role("link", name="My day").click()
    page.get_by_text("Call Rita back about the refund").wait_for()  # once My day has loaded
    assert_accessible(page)

    page.get_by_role("link", name="Rita Risk").first.click()
    page.wait_for_url(f"**/customers/{at_risk.pk}/")
    assert_accessible(page)

    # Log a call in the htmx form: it appears on the timeline without a reload.
    page.evaluate("window.__noReload = true")
    form = page.locator("#interaction-form")
    form.get_by_label("Channel").select_option("call")
    form.get_by_label("Direction").select_option("outbound")
    form.get_by_label("Summary").fill("Explained the refund timeline")
    form.get_by_role("button", name="Log it").click()
    page.locator("#timeline").get_by_text(
        "Call (outbound): Explained the refund timeline"
    ).wait_for()
    assert page.evaluate("window.__noReload") is True
    assert Interaction.objects.filter(customer=at_risk).count() == 1

    # Resolve the complaint and mark the follow-up done, both in place.
    page.get_by_label("Resolution").fill("Refunded the second charge")
    page.get_by_role("button", name="Resolve").click()
    page.get_by_text("✓ Resolved").wait_for()
    page.get_by_role("button", name="Mark done: Call Rita back about the refund").click()
    page.locator(".follow-up.done").first.wait_for()
    assert page.evaluate("window.__noReload") is True
    assert at_risk.complaints.get().status == "resolved"
    assert at_risk.follow_ups.get().done_at is not None

    # Another manager's customer is simply not there.
    response = page.goto(f"{live_server.url}/customers/{theirs.pk}/")
    assert response.status == 404
    assert page.get_by_role("heading", name="Not found").is_visible()
