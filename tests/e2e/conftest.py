"""A real browser (Debian's Chromium driven by Playwright) against a live server and worker."""

import http.client
import json
import os
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from django.contrib.auth.models import Group, User

from customers.roles import ACCOUNT_MANAGERS, MARKETERS

# Playwright's sync API keeps an event loop in this thread; the ORM calls made between browser
# steps are still plain synchronous calls, so Django's guard against async misuse is lifted here.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = ROOT / "var" / "screenshots"
AXE = Path(__file__).parent / "vendor" / "axe-4.14.1.min.js"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]


# Every page a test opens reports Content-Security-Policy violations here, from the DOM event
# (with the blocked directive) and from Chromium's console; any one fails the test.
CSP_WATCH = """
document.addEventListener("securitypolicyviolation", (event) => {
  window.__reportCspViolation(
    `${event.violatedDirective} blocked ${event.blockedURI || "inline"}` +
    ` at ${event.sourceFile}:${event.lineNumber}`
  );
});
"""


@pytest.fixture(scope="session")
def playwright_driver():
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).exists():
        pytest.fail("Chromium is not installed (apt-get install chromium)")
    with sync_playwright() as playwright:
        yield playwright


@pytest.fixture(scope="session")
def browser(playwright_driver):
    browser = playwright_driver.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
    yield browser
    browser.close()


def watch_csp(context) -> list[str]:
    """Collect every CSP violation any page of this browser context reports."""
    violations: list[str] = []
    context.expose_binding("__reportCspViolation", lambda source, text: violations.append(text))
    context.add_init_script(CSP_WATCH)

    def on_console(message) -> None:
        if "Content Security Policy" in message.text or "Content-Security-Policy" in message.text:
            violations.append(f"console: {message.text}")

    for tab in context.pages:
        tab.on("console", on_console)
    context.on("page", lambda tab: tab.on("console", on_console))
    return violations


def finish(context, tab, violations: list[str], name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    tab.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)
    context.close()
    assert not violations, "Content-Security-Policy violations:\n" + "\n".join(violations)


@pytest.fixture
def page(browser, request):
    """A fresh browser tab; its last page is saved as a screenshot named after the test, and
    any CSP violation on any of its pages fails the test."""
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="en-GB")
    violations = watch_csp(context)
    tab = context.new_page()
    tab.set_default_timeout(15_000)
    yield tab
    finish(context, tab, violations, request.node.name)


def _without_cookies(route, request) -> None:
    """Pass a request on with no Cookie header and hand back the answer with no Set-Cookie."""
    url = urlsplit(request.url)
    headers = {k: v for k, v in request.headers.items() if k.lower() != "cookie"}
    connection = http.client.HTTPConnection(url.hostname, url.port, timeout=30)
    try:
        path = url.path + (f"?{url.query}" if url.query else "")
        connection.request(request.method, path, body=request.post_data_buffer, headers=headers)
        answer = connection.getresponse()
        body = answer.read()
        kept = {k: v for k, v in answer.getheaders() if k.lower() != "set-cookie"}
    finally:
        connection.close()
    route.fulfill(status=answer.status, headers=kept, body=body)


@pytest.fixture
def cookieless_page(browser, request):
    """A tab whose browser neither stores nor sends cookies, as for a customer who blocks them:
    every request to the live server goes without Cookie, every answer loses its Set-Cookie,
    and scripts cannot set any either."""
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="en-GB")
    violations = watch_csp(context)
    context.route("http://localhost:*/**", _without_cookies)
    tab = context.new_page()
    context.new_cdp_session(tab).send("Emulation.setDocumentCookieDisabled", {"disabled": True})
    tab.set_default_timeout(15_000)
    yield tab
    finish(context, tab, violations, request.node.name)


def person(username: str, group: str | None, **extra) -> User:
    user = User.objects.create_user(username=username, password="pw-for-tests", **extra)
    if group:
        user.groups.add(Group.objects.get(name=group))
    return user


@pytest.fixture
def people(transactional_db):
    return {
        "marketer": person("maria", MARKETERS, first_name="Maria"),
        "manager": person("alex", ACCOUNT_MANAGERS, first_name="Alex", email="alex@example.com"),
        "other": person("sam", ACCOUNT_MANAGERS, first_name="Sam"),
    }


def sign_in(page, live_server, username: str) -> None:
    page.goto(f"{live_server.url}/accounts/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill("pw-for-tests")
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{live_server.url}/**")


def assert_accessible(page) -> None:
    """axe-core finds no serious or critical violation on the page as it stands."""
    # Evaluated through DevTools, which the page's CSP does not govern: a <script> tag would be
    # refused (and reported as a violation), as it should be.
    page.evaluate(AXE.read_text())
    result = page.evaluate("async () => await axe.run(document, {resultTypes: ['violations']})")
    bad = [
        {"id": v["id"], "impact": v["impact"], "nodes": [n["target"] for n in v["nodes"]][:3]}
        for v in result["violations"]
        if v["impact"] in ("serious", "critical")
    ]
    assert not bad, json.dumps(bad, indent=1)
