"""The pages work under the Content-Security-Policy in a real browser: no violation on any
page a marketer opens (the `page` fixture fails a test on any), charts draw, tier colours and
bars still show, and a merge asks before it acts."""

import pytest

from customers import records
from customers.models import Customer, Tier
from nps import services as nps_services
from nps.models import Survey
from programs.models import Program
from tests.e2e.conftest import sign_in, watch_csp

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def answered(people):
    manager = people["manager"]
    customers = [
        records.create_customer(
            data={
                "first_name": f"C{n}",
                "email": f"c{n}@example.com",
                "owner": manager,
                "consent_email": True,
            },
            by=manager,
        )
        for n in range(3)
    ]
    invited = nps_services.invite(survey=Survey.objects.get(), customers=customers).invited
    for invitation, score in zip(invited, [10, 8, 3], strict=True):
        nps_services.record_response(invitation=invitation, score_value=score, why="Because")
    return customers


def test_a_marketers_pages_raise_no_csp_violation(page, live_server, people, answered):
    sign_in(page, live_server, "maria")
    program = Program.objects.get(is_prototype=True)
    step = program.steps.order_by("order").first()

    for url in [
        "/",
        "/customers/",
        "/my-day/",
        "/programs/",
        f"/programs/{program.pk}/",
        f"/programs/{program.pk}/funnel/",
        "/surveys/",
        "/imports/",
        "/customers/ladder/",
        "/customers/duplicates/",
        "/settings/tokens/",
        f"/customers/{answered[0].pk}/",
        "/api/docs/",
        "/api/v1/customers/",
    ]:
        page.goto(f"{live_server.url}{url}")
        page.wait_for_load_state("networkidle")

    # The step editor's preview comes over htmx and shows the e-mail in a frame.
    page.goto(f"{live_server.url}/programs/{program.pk}/steps/{step.pk}/")
    page.get_by_role("button", name="Refresh preview").click()
    page.locator("#preview iframe").first.wait_for()


def test_charts_draw_and_computed_colours_and_widths_apply(page, live_server, people, answered):
    sign_in(page, live_server, "maria")

    page.goto(f"{live_server.url}/surveys/")
    page.wait_for_load_state("networkidle")
    drawn = page.evaluate(
        "Chart.getChart(document.getElementById('nps-trend-chart')) !== undefined"
    )
    assert drawn

    tier = Tier.objects.get(slug="prospect")
    Customer.objects.filter(pk=answered[0].pk).update(tier=tier)
    page.goto(f"{live_server.url}/customers/")
    badge = page.locator("span.tier").first
    assert badge.evaluate("e => getComputedStyle(e).getPropertyValue('--tier').trim()") == (
        tier.colour
    )


def test_a_merge_in_the_browser_asks_first_then_merges(page, live_server, people):
    manager = people["manager"]
    keep, other = [
        records.create_customer(
            data={
                "first_name": "Ann",
                "last_name": "Lee",
                "email": email,
                "owner": manager,
                "phone": "+14155552671",
            },
            by=manager,
        )
        for email in ("ann@example.com", "ann.lee@example.com")
    ]
    sign_in(page, live_server, "maria")

    page.goto(f"{live_server.url}/customers/duplicates/")
    page.get_by_role("button", name=f"Keep #{keep.pk}, merge #{other.pk} into it").click()

    page.get_by_role("heading", name=f"Merge #{other.pk} into #{keep.pk}?").wait_for()
    assert "This cannot be undone." in page.content()
    assert Customer.objects.get(pk=other.pk).merged_into_id is None

    page.get_by_role("button", name=f"Merge #{other.pk} into #{keep.pk}").click()
    page.wait_for_url(f"{live_server.url}/customers/{keep.pk}/")
    assert Customer.objects.get(pk=other.pk).merged_into_id == keep.pk


def test_the_violation_watch_catches_an_inline_script_and_style(browser, live_server, people):
    context = browser.new_context()
    violations = watch_csp(context)
    tab = context.new_page()
    try:
        tab.goto(f"{live_server.url}/accounts/login/")
        tab.evaluate(
            """() => {
              const script = document.createElement("script");
              script.textContent = "window.injected = true";
              document.body.append(script);
              const style = document.createElement("style");
              style.textContent = "body { color: red }";
              document.head.append(style);
            }"""
        )
        for _ in range(100):  # the violation events are dispatched asynchronously
            if len(violations) >= 2:
                break
            tab.wait_for_timeout(50)
        assert tab.evaluate("window.injected === undefined")
    finally:
        context.close()

    assert any("script-src" in v for v in violations), violations
    assert any("style-src" in v for v in violations), violations
