"""The marketers' topics page /customers/topics/: add, rename, retire; bad input is a 400."""

import pytest

from customers.models import Topic
from tests.factories import CustomerFactory

pytestmark = pytest.mark.django_db


def test_the_page_lists_topics_with_how_many_chose_them(
    client, marketer, django_assert_max_num_queries
):
    news = Topic.objects.create(name="Product news")
    Topic.objects.create(name="Tips", is_active=False)
    for _ in range(3):
        CustomerFactory().topics.add(news)
    client.force_login(marketer)

    # The session, the user and their groups, the topics with their counts: none per topic.
    with django_assert_max_num_queries(5):
        response = client.get("/customers/topics/")

    content = response.content.decode()
    assert response.status_code == 200
    assert "Product news" in content and "Retired" in content
    assert '<td class="num">3</td>' in content


def test_a_marketer_adds_and_edits_a_topic(client, marketer):
    client.force_login(marketer)

    response = client.post(
        "/customers/topics/", {"name": " Events near me ", "description": "", "is_active": "on"}
    )

    assert response.status_code == 302
    topic = Topic.objects.get()
    assert (topic.name, topic.is_active) == ("Events near me", True)
    response = client.post(
        f"/customers/topics/{topic.pk}/", {"name": "Events", "description": "Near you"}
    )
    assert response.status_code == 302
    topic.refresh_from_db()
    assert (topic.name, topic.description, topic.is_active) == ("Events", "Near you", False)


@pytest.mark.parametrize("name", ["", "product NEWS", "x" * 81])
def test_a_missing_repeated_or_long_name_is_a_400(client, marketer, name):
    Topic.objects.create(name="Product news")
    client.force_login(marketer)

    response = client.post("/customers/topics/", {"name": name, "is_active": "on"})

    assert response.status_code == 400
    assert Topic.objects.count() == 1


def test_an_edit_to_a_taken_name_is_a_400_and_changes_nothing(client, marketer):
    Topic.objects.create(name="Product news")
    tips = Topic.objects.create(name="Tips")
    client.force_login(marketer)

    response = client.post(f"/customers/topics/{tips.pk}/", {"name": "Product news"})

    assert response.status_code == 400
    tips.refresh_from_db()
    assert (tips.name, tips.is_active) == ("Tips", True)
