"""`next=` sends the browser back only within the site, on every page that reads it."""

import pytest
from django.utils import timezone

from programs.models import Enrollment, Program, Touch
from tests.factories import ComplaintFactory, CustomerFactory, FollowUpFactory

pytestmark = pytest.mark.django_db

ELSEWHERE = [
    "https://evil.example/",
    "//evil.example/",
    "/\\evil.example/",
    "https:/evil.example/",
    "javascript:alert(1)",
]


def lands_on_this_site(response) -> bool:
    location = response["Location"]
    return location.startswith("/") and not location.startswith(("//", "/\\"))


@pytest.mark.parametrize("target", ELSEWHERE)
def test_signing_in_ignores_a_next_elsewhere(client, manager, target):
    response = client.post(
        f"/accounts/login/?next={target}", {"username": "manager", "password": "pw"}
    )

    assert response.status_code == 302
    assert response["Location"] == "/"


def test_signing_in_follows_a_next_on_this_site(client, manager):
    response = client.post(
        "/accounts/login/?next=/my-day/", {"username": "manager", "password": "pw"}
    )

    assert response["Location"] == "/my-day/"


@pytest.mark.parametrize("target", ELSEWHERE)
def test_signing_out_ignores_a_next_elsewhere(client, manager, target):
    client.force_login(manager)

    response = client.post("/accounts/logout/", {"next": target})

    assert lands_on_this_site(response)


@pytest.mark.parametrize("target", [*ELSEWHERE, "-9223372036854775809", "customers:list"])
def test_marking_a_follow_up_done_ignores_a_next_elsewhere(client, manager, target):
    follow_up = FollowUpFactory(customer=CustomerFactory(owner=manager))
    client.force_login(manager)

    response = client.post(f"/follow-ups/{follow_up.pk}/done/", {"next": target})

    assert response.status_code == 302
    assert lands_on_this_site(response)
    assert response["Location"] in ("/my-day/", target)


def test_marking_a_follow_up_done_returns_to_the_page_it_came_from(client, manager):
    follow_up = FollowUpFactory(customer=CustomerFactory(owner=manager))
    client.force_login(manager)

    response = client.post(f"/follow-ups/{follow_up.pk}/done/", {"next": "/customers/?q=ann"})

    assert response["Location"] == "/customers/?q=ann"


@pytest.mark.parametrize("target", ELSEWHERE)
def test_resolving_a_complaint_ignores_a_next_elsewhere(client, manager, target):
    customer = CustomerFactory(owner=manager)
    complaint = ComplaintFactory(customer=customer)
    client.force_login(manager)

    response = client.post(
        f"/customers/{customer.pk}/complaints/{complaint.pk}/resolve/",
        {"resolution": "Refunded.", "next": target},
    )

    assert response.status_code == 302
    assert response["Location"] == f"/customers/{customer.pk}/"


@pytest.mark.parametrize("action", ["retry", "dismiss"])
@pytest.mark.parametrize("target", ELSEWHERE)
def test_retrying_or_dismissing_a_touch_ignores_a_next_elsewhere(client, marketer, action, target):
    program = Program.objects.order_by("id").first()
    customer = CustomerFactory()
    touch = Touch.objects.create(
        enrollment=Enrollment.objects.create(program=program, customer=customer),
        step=program.steps.order_by("order").first(),
        customer=customer,
        channel="email",
        due_at=timezone.now(),
        status=Touch.Status.FAILED,
    )
    client.force_login(marketer)

    response = client.post(f"/programs/touches/{touch.pk}/{action}/", {"next": target})

    assert response.status_code == 302
    assert response["Location"] == "/programs/failures/"
