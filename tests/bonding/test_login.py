"""Every page is behind sign-in, except the health check and public customer pages."""

import pytest
from django.contrib.auth.models import Group

PAGES = ["/", "/admin/"]


@pytest.mark.django_db
@pytest.mark.parametrize("url", ["/"])
def test_pages_send_anonymous_visitors_to_sign_in(client, url):
    response = client.get(url)

    assert response.status_code == 302
    assert response["Location"] == f"/accounts/login/?next={url}"


@pytest.mark.django_db
def test_the_admin_sends_anonymous_visitors_to_its_sign_in(client):
    response = client.get("/admin/")

    assert response.status_code == 302
    assert response["Location"].startswith("/admin/login/")


@pytest.mark.django_db
def test_the_sign_in_page_is_public_and_has_a_csrf_protected_form(client):
    response = client.get("/accounts/login/")

    assert response.status_code == 200
    assert b'name="csrfmiddlewaretoken"' in response.content
    assert b'<label for="id_username">' in response.content


@pytest.mark.django_db
def test_signing_in_opens_the_dashboard(client, marketer):
    response = client.post(
        "/accounts/login/", {"username": "marketer", "password": "pw"}, follow=True
    )

    assert response.redirect_chain[-1] == ("/", 302)
    assert b"Dashboard" in response.content
    assert b"Sign out" in response.content


@pytest.mark.django_db
def test_a_wrong_password_is_refused_with_a_message(client, marketer):
    response = client.post("/accounts/login/", {"username": "marketer", "password": "nope"})

    assert response.status_code == 200
    assert b"enter a correct username and password" in response.content
    assert "_auth_user_id" not in client.session


@pytest.mark.django_db
def test_signing_out_needs_a_post_and_ends_the_session(client, marketer):
    client.force_login(marketer)

    assert client.get("/accounts/logout/").status_code == 405
    response = client.post("/accounts/logout/")

    assert response.status_code == 302
    assert response["Location"] == "/accounts/login/"
    assert client.get("/").status_code == 302


@pytest.mark.django_db
def test_the_csrf_token_is_required_to_sign_in(marketer):
    from django.test import Client

    strict = Client(enforce_csrf_checks=True)
    response = strict.post("/accounts/login/", {"username": "marketer", "password": "pw"})

    assert response.status_code == 403


@pytest.mark.django_db
def test_the_roles_exist_as_groups():
    names = set(Group.objects.values_list("name", flat=True))

    assert {"Marketers", "Account managers"} <= names


@pytest.mark.django_db
def test_unknown_pages_show_the_styled_404(client, marketer):
    client.force_login(marketer)

    response = client.get("/no-such-page/")

    assert response.status_code == 404
    assert b"Not found" in response.content
