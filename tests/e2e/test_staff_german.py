"""A German-speaking marketer's browser: the dashboard and a customer's page in German, laid out.

German words run longer than English ones: neither page may grow wider than the window.
"""

import pytest

from customers import records
from tests.e2e.conftest import SCREENSHOTS, watch_csp

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

WIDTH = 1280


@pytest.fixture
def german_page(browser, request):
    context = browser.new_context(viewport={"width": WIDTH, "height": 900}, locale="de-DE")
    violations = watch_csp(context)
    tab = context.new_page()
    tab.set_default_timeout(15_000)
    yield tab
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    context.close()
    assert not violations, "Content-Security-Policy violations:\n" + "\n".join(violations)


def overflow(tab) -> int:
    """How many pixels the page is wider than the window (0 when it fits)."""
    return tab.evaluate("document.documentElement.scrollWidth - window.innerWidth")


def test_a_german_marketer_reads_the_dashboard_and_a_customer_in_german(
    german_page, live_server, people
):
    customer = records.create_customer(
        data={"first_name": "Greta", "last_name": "Gruber", "email": "greta@example.com"},
        by=people["manager"],
    )
    tab = german_page
    tab.goto(f"{live_server.url}/accounts/login/")
    tab.get_by_label("Benutzername").fill("maria")
    tab.get_by_label("Passwort").fill("pw-for-tests")
    tab.get_by_role("button", name="Anmelden").click()
    tab.wait_for_url(f"{live_server.url}/")

    assert tab.locator("html").get_attribute("lang") == "de"
    assert tab.get_by_role("link", name="Kunden", exact=True).is_visible()
    assert tab.get_by_role("heading", name="Die Leiter").is_visible()
    tab.screenshot(path=str(SCREENSHOTS / "staff_german_dashboard.png"), full_page=True)
    assert overflow(tab) <= 0

    tab.goto(f"{live_server.url}/customers/{customer.pk}/")
    assert tab.get_by_role("heading", name="Einen Kontakt erfassen").is_visible()
    assert tab.get_by_role("heading", name="Verlauf").is_visible()
    tab.screenshot(path=str(SCREENSHOTS / "staff_german_customer.png"), full_page=True)
    assert overflow(tab) <= 0
