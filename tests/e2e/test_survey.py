"""A customer answers the survey from the e-mail link; the owner sees the follow-up."""

import pytest

from customers import records
from customers.models import FollowUp
from nps import services
from nps.models import Response, Survey
from tests.conftest import start_worker, stop_worker
from tests.e2e.conftest import assert_accessible, sign_in

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def test_a_detractor_answers_and_the_owner_gets_the_follow_up(page, live_server, people):
    manager = people["manager"]
    customer = records.create_customer(
        data={"first_name": "Dora", "email": "dora@example.com", "owner": manager}, by=manager
    )
    invitation = services.invite(survey=Survey.objects.get(), customers=[customer]).invited[0]
    worker = start_worker(name="e2e-survey")  # the owner's e-mail goes out through a worker
    try:
        page.goto(f"{live_server.url}/s/{invitation.token}/")
        assert_accessible(page)
        page.locator("label[for=score-3]").click()
        page.get_by_label("Why did you give that score?").fill("The delivery was late twice.")
        page.get_by_role("button", name="Send my answers").click()
        page.get_by_role("heading", name="Thank you!").wait_for()
        assert "a 10% voucher" in page.content()
        assert_accessible(page)

        answer = Response.objects.get(invitation=invitation)
        assert (answer.score, answer.why) == (3, "The delivery was late twice.")
        assert FollowUp.objects.filter(customer=customer, assignee=manager).exists()

        owner_page = page.context.new_page()
        sign_in(owner_page, live_server, "alex")
        owner_page.goto(f"{live_server.url}/my-day/")
        assert owner_page.get_by_text("Detractor: scored 3").is_visible()
        owner_page.close()
    finally:
        stop_worker(worker)
