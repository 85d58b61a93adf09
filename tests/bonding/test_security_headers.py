"""Every answer carries a Content-Security-Policy with no inline scripts and a
Permissions-Policy that denies the browser features Bonding never uses."""

import pytest

from customers import records
from nps import services as nps_services
from nps.models import Survey
from programs.models import Program
from programs.unsubscribe import unsubscribe_token

pytestmark = pytest.mark.django_db


def directives(response) -> dict[str, list[str]]:
    policy = response["Content-Security-Policy"]
    parts = [part.split() for part in policy.split(";") if part.strip()]
    return {part[0]: part[1:] for part in parts}


def assert_secured(response) -> None:
    policy = directives(response)
    assert policy["script-src"] == ["'self'"], policy
    assert policy["default-src"] == ["'self'"]
    assert policy["object-src"] == ["'none'"]
    assert policy["frame-ancestors"] == ["'none'"]
    assert policy["base-uri"] == ["'none'"]
    assert policy["form-action"] == ["'self'"]
    features = dict(rule.strip().split("=") for rule in response["Permissions-Policy"].split(","))
    for feature in ("camera", "microphone", "geolocation", "payment", "usb"):
        assert features[feature] == "()"


@pytest.fixture
def ann(manager):
    return records.create_customer(
        data={"first_name": "Ann", "email": "ann@example.com", "owner": manager}, by=manager
    )


@pytest.mark.parametrize(
    "url",
    [
        "/",
        "/customers/",
        "/my-day/",
        "/programs/",
        "/surveys/",
        "/imports/",
        "/customers/ladder/",
        "/customers/duplicates/",
        "/settings/tokens/",
    ],
)
def test_signed_in_pages_have_both_policies_and_no_inline_styles(client, marketer, url):
    client.force_login(marketer)

    response = client.get(url)

    assert response.status_code == 200
    assert_secured(response)
    assert directives(response)["style-src"] == ["'self'"]


def test_the_sign_in_page_has_both_policies(client):
    response = client.get("/accounts/login/")

    assert response.status_code == 200
    assert_secured(response)
    assert directives(response)["style-src"] == ["'self'"]


def test_public_pages_have_both_policies(client, ann):
    invitation = nps_services.invite(survey=Survey.objects.get(), customers=[ann]).invited[0]
    token = unsubscribe_token(customer=ann, channel="email")

    for response in [
        client.get(f"/s/{invitation.token}/"),
        client.get(f"/u/{token}/"),
        client.get("/u/not-a-token/"),
        client.get("/s/not-a-token/"),
    ]:
        assert_secured(response)
        assert directives(response)["style-src"] == ["'self'"]


def test_the_api_has_both_policies(client, marketer):
    client.force_login(marketer)

    for response in [
        client.get("/api/v1/customers/"),
        client.get("/api/v1/customers/", HTTP_ACCEPT="application/json"),
        client.get("/api/v1/nope/"),
        client.get("/healthz"),
    ]:
        assert_secured(response)


def test_only_the_step_editor_and_api_pages_allow_inline_styles(client, marketer):
    client.force_login(marketer)
    program = Program.objects.get(is_prototype=True)
    step = program.steps.first()
    as_json = client.get("/api/v1/customers/", HTTP_ACCEPT="application/json")

    assert directives(as_json)["style-src"] == ["'self'"]
    for url in [
        f"/programs/{program.pk}/steps/{step.pk}/",
        f"/programs/{program.pk}/steps/new/",
        "/api/docs/",
        "/api/v1/customers/",
    ]:
        response = client.get(url, HTTP_ACCEPT="text/html")
        assert response.status_code == 200, url
        assert directives(response)["style-src"] == ["'self'", "'unsafe-inline'"]
        assert_secured(response)


def test_no_template_carries_inline_scripts_handlers_or_styles():
    from pathlib import Path

    root = Path(__file__).resolve().parents[2] / "templates"
    offenders = []
    for template in root.rglob("*.html"):
        if template.parts[-2] == "emails":  # e-mail clients, not browsers, read these
            continue
        text = template.read_text()
        for needle in (
            "<script>",
            "<style",
            " style=",
            " onclick=",
            " onchange=",
            " onsubmit=",
            "hx-on",
            "javascript:",
        ):
            if needle in text:
                offenders.append(f"{template.relative_to(root)}: {needle.strip()}")
    assert not offenders, offenders
