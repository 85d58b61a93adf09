"""A customer on a phone fills in their preference center from the e-mail's link, in a real
browser: channels, how often, topics and what they value; checked with axe."""

import pytest

from customers import records
from customers.models import ConsentChange, Customer, Topic, ValueAnswer
from customers.preferences import preference_token
from tests.e2e.conftest import assert_accessible

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def ann(people) -> Customer:
    return records.create_customer(
        data={
            "first_name": "Ann",
            "email": "ann@example.com",
            "phone": "+14155552671",
            "owner": people["manager"],
            "consent_email": True,
        },
        by=people["manager"],
    )


@pytest.mark.parametrize("tab", ["page", "cookieless_page"])
def test_a_customer_sets_their_preferences_on_a_phone(tab, request, live_server, ann):
    page = request.getfixturevalue(tab)
    Topic.objects.create(name="Product news", description="What is new, once a month.")
    Topic.objects.create(name="Events near me")
    page.set_viewport_size({"width": 390, "height": 844})

    page.goto(f"{live_server.url}/p/{preference_token(customer=ann)}/")
    page.get_by_role("heading", name="How we keep in touch").wait_for()
    assert_accessible(page)
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    page.get_by_role("checkbox", name="SMS").check()
    page.get_by_role("radio", name="SMS").check()
    page.get_by_role("radio", name="Less often").check()
    page.get_by_role("checkbox", name="Product news").check()
    page.get_by_label("What do you find most valuable in what we offer?").fill(
        "Advice from people who know the product."
    )
    # The browser stops at 2,000 characters; a post that gets past it must be refused.
    page.evaluate("document.getElementById('answer_more').removeAttribute('maxlength')")
    page.get_by_label("What would you like more of?").fill("x" * 2001)
    page.get_by_role("button", name="Save my choices").click()

    # Too long an answer: nothing is kept, the page says which answer and keeps the others.
    page.get_by_text("Nothing was changed").wait_for()
    assert_accessible(page)
    ann.refresh_from_db()
    assert (ann.consent_sms, ann.frequency) == (False, "usual")
    page.get_by_label("What would you like more of?").fill("Evening workshops.")
    page.get_by_role("button", name="Save my choices").click()

    page.get_by_text("your choices are saved").wait_for()
    assert_accessible(page)
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    ann.refresh_from_db()
    assert (ann.consent_email, ann.consent_sms, ann.preferred_channel, ann.frequency) == (
        True,
        True,
        "sms",
        "less",
    )
    assert list(ann.topics.values_list("name", flat=True)) == ["Product news"]
    assert sorted(ValueAnswer.objects.filter(customer=ann).values_list("question", "text")) == [
        ("more", "Evening workshops."),
        ("valuable", "Advice from people who know the product."),
    ]
    assert ConsentChange.objects.get(customer=ann, channel="sms").source == "preference center"
