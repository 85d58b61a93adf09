"""The staff pages laid out in German and Spanish, on a desktop and on a phone.

German and Spanish words run longer than English ones: no button, table header, menu item or
form label may spill out of its box, and no page may grow wider than the window.
"""

import pytest
from django.utils import timezone

from customers import activity, records
from events.models import Event
from nps.models import Survey
from programs.models import Program
from tests.e2e.conftest import SCREENSHOTS, sign_in, watch_csp

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

WIDTHS = (1280, 390)
LANGUAGES = ("de", "es")

# Elements whose text must fit their box; inline ones (no box of their own) are left out.
SPILLS = """
() => {
  const spilled = [];
  const selector = "button, .button, input[type=submit], th, nav a, nav li, label";
  for (const el of document.querySelectorAll(selector)) {
    const style = getComputedStyle(el);
    if (style.display === "inline" || style.display === "none" || !el.getClientRects().length) {
      continue;
    }
    if (el.scrollWidth > el.clientWidth + 1) {
      const text = (el.innerText || el.value || "").trim().slice(0, 40);
      spilled.push(`${el.tagName.toLowerCase()} "${text}" ${el.scrollWidth}>${el.clientWidth}`);
    }
  }
  const wider = document.documentElement.scrollWidth - window.innerWidth;
  if (wider > 0) {
    // Name the innermost elements that reach past the window: those are what to fix.
    const past = (el) => el.getBoundingClientRect().right > window.innerWidth + 1;
    const culprits = [...document.body.querySelectorAll("*")]
      .filter((el) => past(el) && ![...el.children].some(past))
      .slice(0, 4)
      .map((el) => {
        const chain = [];
        for (let at = el; at && at !== document.body; at = at.parentElement) {
          chain.push(`${at.tagName.toLowerCase()}.${[...at.classList].join(".")}[${Math.round(at.getBoundingClientRect().width)}]`);
        }
        return chain.join(" < ");
      });
    spilled.push(`the page scrolls sideways by ${wider}px (${culprits.join(", ")})`);
  }
  return spilled;
}
"""


def staff_pages(people) -> list[str]:
    customer = records.create_customer(
        data={
            "first_name": "Greta",
            "last_name": "Gruber",
            "email": "greta@example.com",
            "owner": people["manager"],
        },
        by=people["manager"],
    )
    activity.log_interaction(
        customer=customer, author=people["manager"], channel="call", summary="Preise"
    )
    program = Program.objects.order_by("pk").first()
    step = program.steps.order_by("pk").first()
    event = Event.objects.create(
        name="Sommerfest",
        starts_at=timezone.now() + timezone.timedelta(days=10),
        ends_at=timezone.now() + timezone.timedelta(days=10, hours=2),
        place="Alte Mühle",
    )
    assert Survey.objects.exists()
    return [
        "/",
        "/customers/",
        f"/customers/{customer.pk}/",
        "/programs/",
        f"/programs/{program.pk}/",
        f"/programs/{program.pk}/steps/{step.pk}/",
        "/surveys/",
        "/events/",
        f"/events/{event.pk}/",
        "/settings/language/",
        "/settings/webhooks/",
        "/imports/",
    ]


def test_staff_pages_fit_in_german_and_spanish_on_desktop_and_phone(browser, live_server, people):
    paths = staff_pages(people)
    context = browser.new_context(viewport={"width": WIDTHS[0], "height": 900})
    violations = watch_csp(context)
    tab = context.new_page()
    tab.set_default_timeout(15_000)
    sign_in(tab, live_server, "maria")
    found = []
    for language in LANGUAGES:
        # The staff language setting, as a user chooses it.
        tab.goto(f"{live_server.url}/settings/language/")
        tab.locator(f"input[name=language][value={language}]").check()
        tab.locator("main form button[type=submit]").click()
        tab.wait_for_url(f"{live_server.url}/settings/language/")
        for width in WIDTHS:
            tab.set_viewport_size({"width": width, "height": 900})
            for path in paths:
                response = tab.goto(f"{live_server.url}{path}")
                assert response is not None and response.status == 200, path
                assert tab.locator("html").get_attribute("lang") == language
                found += [f"{language} {width}px {path}: {s}" for s in tab.evaluate(SPILLS)]
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        tab.screenshot(path=str(SCREENSHOTS / f"staff_layout_{language}.png"), full_page=True)
    context.close()
    assert not found, "Spilled out of their boxes:\n" + "\n".join(found)
    assert not violations, "Content-Security-Policy violations:\n" + "\n".join(violations)
