"""A marketer reads the pyramid, narrows a segment and enrolls it in the eight-step program."""

import re

import pytest

from customers import records
from customers.models import Customer, Tier
from programs.models import Enrollment, Program
from tests.e2e.conftest import assert_accessible, sign_in

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def base(people):
    manager = people["manager"]
    repeat = Tier.objects.get(slug="repeat")
    created = {}
    for n, (first, risk) in enumerate([("Ria", 80), ("Rob", 75), ("Rex", 10)]):
        customer = records.create_customer(
            data={
                "first_name": first,
                "last_name": "Repeat",
                "email": f"r{n}@example.com",
                "owner": manager,
                "consent_email": True,
            },
            by=manager,
        )
        Customer.objects.filter(pk=customer.pk).update(tier=repeat, churn_risk=risk)
        created[first] = customer
    for n in range(2):
        records.create_customer(
            data={"first_name": f"Pat{n}", "email": f"p{n}@example.com", "owner": manager},
            by=manager,
        )
    return created


def test_a_marketer_enrolls_a_segment_from_the_pyramid(page, live_server, base):
    sign_in(page, live_server, "maria")

    pyramid = page.locator(".pyramid")
    assert pyramid.get_by_role("link", name=re.compile(r"Repeat customer\s+3")).is_visible()
    assert pyramid.get_by_role("link", name=re.compile(r"Prospect\s+2")).is_visible()
    assert_accessible(page)

    pyramid.get_by_role("link", name=re.compile("Repeat customer")).click()
    page.wait_for_url("**/customers/?tier=repeat*")
    page.get_by_label("Churn risk").select_option("high")
    page.get_by_role("button", name="Apply").click()
    page.wait_for_url("**risk=high*")
    assert page.get_by_role("link", name="Ria Repeat").is_visible()
    assert page.get_by_role("link", name="Rex Repeat").count() == 0
    assert_accessible(page)

    page.get_by_role("link", name="Enroll these in a program").click()
    page.get_by_role("link", name="Enroll in Eight-step bonding program").click()
    page.get_by_role("button", name="Enroll 2 customers").click()
    page.get_by_text("2").first.wait_for()
    program = Program.objects.get(is_prototype=True)
    enrolled = set(
        Enrollment.objects.filter(program=program).values_list("customer__first_name", flat=True)
    )
    assert enrolled == {"Ria", "Rob"}

    page.goto(f"{live_server.url}/programs/{program.pk}/")
    page.get_by_role("link", name="Welcome kit").first.click()
    page.get_by_label("For customer", exact=True).select_option(str(base["Ria"].pk))
    page.get_by_role("button", name="Refresh preview").click()
    email = page.frame_locator("iframe.email-frame")
    email.get_by_text("Dear Ria,").wait_for()
    assert "Welcome, Ria" in page.locator(".preview-subject").inner_text()
    assert_accessible(page)
