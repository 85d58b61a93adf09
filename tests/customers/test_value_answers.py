"""What customers told us they value: on the 360 page and searchable by marketers."""

import pytest

from customers.models import Topic
from customers.preferences import record_value_answer
from tests.factories import CustomerFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def ann(manager):
    ann = CustomerFactory(first_name="Ann", last_name="Lee", owner=manager, frequency="less")
    ann.topics.add(Topic.objects.create(name="Product news"))
    record_value_answer(customer=ann, question="valuable", text="Quick answers on the phone.")
    record_value_answer(customer=ann, question="less", text="Paper catalogues.")
    return ann


def test_the_360_page_shows_what_they_told_us(client, manager, ann):
    client.force_login(manager)

    content = client.get(f"/customers/{ann.pk}/").content.decode()

    assert "What they told us" in content
    assert "Hears from us less often; news about Product news." in content
    assert "Quick answers on the phone." in content and "Paper catalogues." in content
    assert "What would you like less of?" in content


def test_marketers_search_the_answers_by_word_and_question(
    client, marketer, ann, django_assert_num_queries
):
    bob = CustomerFactory(first_name="Bob")
    record_value_answer(customer=bob, question="more", text="More phone support in the evening.")
    client.force_login(marketer)

    # The session, the user, their groups, one page of answers with their customers.
    with django_assert_num_queries(4):
        response = client.get("/customers/what-they-value/?q=PHONE")
    content = response.content.decode()
    assert response.status_code == 200
    assert "Quick answers on the phone." in content and "More phone support" in content
    assert "Paper catalogues." not in content

    content = client.get("/customers/what-they-value/?q=phone&question=more").content.decode()
    assert "More phone support" in content and "Quick answers" not in content


def test_an_unknown_question_filter_shows_every_question(client, marketer, ann):
    client.force_login(marketer)

    response = client.get("/customers/what-they-value/?question=nonsense&page=abc")

    assert response.status_code == 200
    assert "Paper catalogues." in response.content.decode()


def test_deleted_customers_answers_are_not_shown(client, marketer, ann):
    ann.deleted_at = ann.created_at
    ann.save()
    client.force_login(marketer)

    assert "Paper catalogues." not in client.get("/customers/what-they-value/").content.decode()
