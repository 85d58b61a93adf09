"""A marketer builds "B2B clients at risk, owned by Alex", saves it, enrolls it continuously in
a program, finds it again, invites it to a survey and finds it on the dashboard."""

import pytest

from customers import records
from customers.models import Audience, Customer, Segment
from nps.models import Invitation, Survey
from programs.models import Enrollment, Program, SegmentFollow
from programs.tasks import enroll_segment_newcomers_task
from tests.e2e.conftest import assert_accessible, sign_in

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

NAME = "B2B clients at risk, owned by Alex"


def make(owner, first: str, audience: str, risk: int) -> Customer:
    customer = records.create_customer(
        data={
            "first_name": first,
            "last_name": "Client",
            "email": f"{first.lower()}@example.com",
            "owner": owner,
            "audience": audience,
            "consent_email": True,
        },
        by=owner,
    )
    Customer.objects.filter(pk=customer.pk).update(churn_risk=risk)
    return customer


def enrolled(program: Program) -> set[str]:
    rows = Enrollment.objects.filter(program=program)
    return set(rows.values_list("customer__first_name", flat=True))


def test_a_marketer_saves_a_segment_enrolls_it_continuously_and_finds_it_again(
    page, live_server, people
):
    alex, sam = people["manager"], people["other"]
    make(alex, "Bea", Audience.B2B, 85)
    make(alex, "Ben", Audience.B2B, 10)  # not at risk
    make(alex, "Rita", Audience.RETAIL, 90)  # not B2B
    make(sam, "Sol", Audience.B2B, 90)  # not Alex's
    sign_in(page, live_server, "maria")

    page.goto(f"{live_server.url}/customers/")
    page.get_by_label("Audience").select_option("b2b")
    page.get_by_label("Churn risk").select_option("high")
    page.get_by_label("Owner").select_option(label="Alex")
    page.get_by_role("button", name="Apply").click()
    page.wait_for_url("**risk=high*")
    assert page.get_by_role("link", name="Bea Client").is_visible()
    assert page.get_by_text("1 customer match these filters").is_visible()
    assert_accessible(page)

    page.get_by_label("Save as segment").fill(NAME)
    page.get_by_role("button", name="Save", exact=True).click()
    page.wait_for_url("**/customers/segments/")
    row = page.get_by_role("row", name=NAME)
    row.get_by_text("1", exact=True).wait_for()  # the live count, fetched by htmx
    assert_accessible(page)

    row.get_by_role("link", name="Enroll in a program").click()
    page.get_by_role("link", name="Enroll in Eight-step bonding program").click()
    page.locator("p.card", has_text=NAME).wait_for()  # the next page, once it has loaded
    assert_accessible(page)
    page.get_by_label("Keep enrolling").check()
    page.get_by_role("button", name="Enroll 1 customer").click()
    page.get_by_text("now follows the segment").wait_for()
    program = Program.objects.get(is_prototype=True)
    assert enrolled(program) == {"Bea"}
    assert SegmentFollow.objects.filter(program=program, segment__name=NAME).exists()

    # Later Bill, another B2B client of Alex's, falls at risk: beat's next run enrolls him.
    make(alex, "Bill", Audience.B2B, 95)
    enroll_segment_newcomers_task()
    assert enrolled(program) == {"Bea", "Bill"}

    page.goto(f"{live_server.url}/customers/segments/")
    page.get_by_role("link", name=NAME).click()
    page.wait_for_url("**/customers/?*")
    assert page.get_by_role("link", name="Bill Client").is_visible()
    assert page.get_by_role("link", name="Sol Client").count() == 0
    assert page.get_by_text("2 customers match these filters").is_visible()
    assert Segment.objects.get(name=NAME).owner.username == "maria"

    # Invite it to a survey.
    survey = Survey.objects.create(name="Quarterly check")
    page.goto(f"{live_server.url}/customers/segments/")
    page.get_by_role("row", name=NAME).get_by_role("link", name="Invite to a survey").click()
    page.get_by_role("link", name="Invite to Quarterly check").click()
    page.locator("p.card", has_text=NAME).wait_for()  # the next page, once it has loaded
    page.get_by_role("button", name="Invite 2 customers").click()
    page.get_by_text("2 invited by e-mail").wait_for()
    invited = Invitation.objects.filter(survey=survey)
    assert set(invited.values_list("customer__first_name", flat=True)) == {"Bea", "Bill"}

    # Find it on the dashboard: its figures are the segment's two customers.
    page.goto(f"{live_server.url}/")
    page.get_by_label("Customers", exact=True).select_option(label=NAME)
    page.get_by_role("button", name="Show").click()
    page.get_by_text(f"Figures of the segment “{NAME}”").wait_for()
    assert page.get_by_role("link", name="Bea Client").first.is_visible()
    assert page.get_by_role("link", name="Sol Client").count() == 0
    assert_accessible(page)


def test_the_list_folds_its_filters_on_a_phone(browser, live_server, people):
    make(people["manager"], "Bea", Audience.B2B, 85)
    context = browser.new_context(viewport={"width": 390, "height": 844}, locale="en-GB")
    tab = context.new_page()
    try:
        sign_in(tab, live_server, "maria")
        tab.goto(f"{live_server.url}/customers/")
        assert not tab.get_by_label("Audience").is_visible()
        assert tab.get_by_role("link", name="Bea Client").is_visible()
        tab.get_by_text("Filters", exact=True).click()
        assert tab.get_by_label("Audience").is_visible()
        width = tab.evaluate("document.documentElement.scrollWidth")
        assert width <= 390 + 1, f"the page scrolls sideways: {width}px"
    finally:
        context.close()


def test_a_marketer_ticks_a_range_with_shift_and_gives_it_an_owner(page, live_server, people):
    alex, sam = people["manager"], people["other"]
    # High and medium bands side by side: both pass axe's colour contrast check.
    for n, risk in enumerate((95, 90, 50, 40)):
        make(alex, f"Cora{n}", Audience.B2B, risk)
    sign_in(page, live_server, "maria")
    page.goto(f"{live_server.url}/customers/?ordering=-churn_risk")

    page.get_by_label("Tick Cora0 Client").check()
    page.get_by_label("Tick Cora2 Client").click(modifiers=["Shift"])
    assert page.get_by_text("3 ticked on this page").is_visible()
    assert not page.get_by_label("Tick Cora3 Client").is_checked()
    assert_accessible(page)
    page.get_by_label("Action").select_option("owner")
    page.get_by_role("button", name="Go on").click()
    page.get_by_role("heading", name="Assign an owner to 3 customers").wait_for()
    page.get_by_label("New owner").select_option(label="Sam")
    page.get_by_role("button", name="Give 3 customers to this owner").click()
    page.get_by_text("3 customers now owned by Sam").wait_for()

    owned = Customer.objects.filter(owner=sam).values_list("first_name", flat=True)
    assert set(owned) == {"Cora0", "Cora1", "Cora2"}
