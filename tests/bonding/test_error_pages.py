"""With DEBUG off (as `make run` and production serve) errors show the site's own pages."""

import pytest
from django.test import RequestFactory
from django.views.defaults import server_error

pytestmark = pytest.mark.django_db


def assert_styled(content: str) -> None:
    assert '<link rel="stylesheet" href="/static/css/bonding.css">' in content
    assert '<link rel="icon" href="/static/favicon.svg" type="image/svg+xml">' in content


@pytest.mark.parametrize("signed_in", [False, True])
def test_an_unknown_address_is_the_styled_404_not_the_list_of_urls(
    client, marketer, settings, signed_in
):
    settings.DEBUG = False
    if signed_in:
        client.force_login(marketer)

    response = client.get("/no-such-page/")

    content = response.content.decode()
    assert response.status_code == 404
    assert "<h1>Not found</h1>" in content
    assert "URLconf" not in content
    assert "api/v1/" not in content
    assert_styled(content)
    assert ("Sign out" in content) is signed_in


def test_a_customer_that_does_not_exist_is_the_styled_404(client, marketer):
    client.force_login(marketer)

    response = client.get("/customers/999999/")

    assert response.status_code == 404
    assert "<h1>Not found</h1>" in response.content.decode()


def test_a_page_the_role_does_not_open_is_the_styled_403(client, manager):
    client.force_login(manager)

    response = client.get("/programs/")

    content = response.content.decode()
    assert response.status_code == 403
    assert "<h1>Not allowed</h1>" in content
    assert_styled(content)


def test_a_server_error_is_the_styled_500_without_details():
    response = server_error(RequestFactory().get("/customers/"))

    content = response.content.decode()
    assert response.status_code == 500
    assert "<h1>Something went wrong</h1>" in content
    assert "Traceback" not in content
    assert_styled(content)


def test_an_unknown_public_link_is_the_public_pages_own_404(client):
    survey = client.get("/s/no-such-token/")
    unsubscribe = client.get("/u/no-such-token/")

    assert survey.status_code == 404
    assert unsubscribe.status_code == 404
    assert "URLconf" not in survey.content.decode() + unsubscribe.content.decode()
    assert '<link rel="icon" href="/static/favicon.svg"' in survey.content.decode()
    assert '<link rel="icon" href="/static/favicon.svg"' in unsubscribe.content.decode()


def test_the_favicon_is_served_to_anyone(client):
    response = client.get("/favicon.ico")

    assert response.status_code == 302
    assert response["Location"] == "/static/favicon.svg"
