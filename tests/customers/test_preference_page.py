"""The public preference center /p/<token>/: a customer changes how, how often and about what
we contact them, and says what they value; bad input changes nothing."""

import pytest
from django.test import Client, override_settings

from customers.models import ConsentChange, Customer, TimelineEntry, Topic, ValueAnswer
from customers.preferences import preference_token
from tests.factories import CustomerFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def customer() -> Customer:
    return CustomerFactory(
        first_name="Ann", consent_email=True, consent_sms=False, preferred_channel="email"
    )


@pytest.fixture
def topics() -> dict[str, Topic]:
    return {
        "news": Topic.objects.create(name="Product news", description="What is new, monthly."),
        "events": Topic.objects.create(name="Events near me"),
        "old": Topic.objects.create(name="Retired topic", is_active=False),
    }


@pytest.fixture
def url(customer) -> str:
    return f"/p/{preference_token(customer=customer)}/"


def choices(**values) -> dict:
    return {
        "consent_email": "on",
        "preferred_channel": "email",
        "frequency": "usual",
    } | values


def state(customer: Customer) -> tuple:
    customer.refresh_from_db()
    return (
        customer.consents(),
        customer.preferred_channel,
        customer.frequency,
        sorted(customer.topics.values_list("name", flat=True)),
        ValueAnswer.objects.filter(customer=customer).count(),
        customer.timeline.count(),
    )


def test_the_token_is_unguessable_and_made_once(customer):
    token = preference_token(customer=customer)

    assert len(token) >= 32
    assert preference_token(customer=customer) == token


def test_the_page_shows_the_customers_choices(client, url, topics, django_assert_num_queries):
    with django_assert_num_queries(3):  # the token with its customer, the topics, theirs
        response = client.get(url)

    content = response.content.decode()
    assert response.status_code == 200
    assert response["Referrer-Policy"] == "no-referrer"
    assert 'id="consent_email" name="consent_email" checked' in content
    assert 'id="consent_sms" name="consent_sms">' in content
    assert "Product news" in content and "What is new, monthly." in content
    assert "Retired topic" not in content
    assert "What would you like more of?" in content


def test_a_customer_changes_everything_at_once(client, customer, url, topics):
    response = client.post(
        url,
        choices(
            consent_sms="on",
            preferred_channel="sms",
            frequency="less",
            topics=[topics["news"].pk, topics["events"].pk],
            answer_valuable="The quick answers on the phone.",
            answer_more="  ",
            answer_less="Paper letters.",
        ),
    )

    assert response.status_code == 200
    assert "your choices are saved" in response.content.decode()
    consents, preferred, frequency, chosen, answers, _ = state(customer)
    assert (consents["email"], consents["sms"], preferred, frequency) == (True, True, "sms", "less")
    assert chosen == ["Events near me", "Product news"]
    assert answers == 2
    change = ConsentChange.objects.get(customer=customer, channel="sms")
    assert (change.granted, change.source) == (True, "preference center")
    lines = dict(customer.timeline.values_list("title", "detail").filter(kind__in=["preferences"]))
    assert lines == {
        "Changed their preferences on the preference center": (
            "prefers SMS; hears from us less often; topics: Events near me, Product news"
        )
    }
    valued = customer.timeline.filter(kind=TimelineEntry.Kind.VALUE_ANSWER)
    assert sorted(valued.values_list("title", "detail")) == [
        ("What do you find most valuable in what we offer?", "The quick answers on the phone."),
        ("What would you like less of?", "Paper letters."),
    ]


def test_withdrawing_every_consent_and_topic_is_a_choice_too(client, customer, url, topics):
    customer.topics.add(topics["news"])

    response = client.post(url, {"preferred_channel": "email", "frequency": "usual"})

    assert response.status_code == 200
    consents, _, _, chosen, _, _ = state(customer)
    assert not any(consents.values()) and chosen == []
    assert ConsentChange.objects.get(customer=customer).source == "preference center"


def test_saving_the_same_choices_again_writes_nothing(client, customer, url, topics):
    client.post(url, choices(topics=[topics["news"].pk]))
    before = state(customer)

    assert client.post(url, choices(topics=[topics["news"].pk])).status_code == 200
    assert state(customer) == before


@pytest.mark.parametrize(
    "bad",
    [
        {"frequency": "never"},
        {"frequency": ""},
        {"preferred_channel": "pigeon"},
        {"topics": ["999999"]},
        {"topics": ["news"]},
        {"answer_more": "x" * 2001},
    ],
)
def test_bad_input_is_a_400_and_changes_nothing(client, customer, url, topics, bad):
    before = state(customer)

    response = client.post(url, choices(consent_sms="on", answer_valuable="Service.") | bad)

    assert response.status_code == 400
    assert "Nothing was changed" in response.content.decode()
    assert state(customer) == before


def test_an_inactive_topic_cannot_be_chosen(client, customer, url, topics):
    response = client.post(url, choices(topics=[topics["old"].pk]))

    assert response.status_code == 400
    assert not customer.topics.exists()


def test_unknown_tokens_and_deleted_customers_are_a_404(client, customer, url):
    assert client.get("/p/not-a-token/").status_code == 404
    assert client.post("/p/not-a-token/", choices()).status_code == 404
    Customer.objects.filter(pk=customer.pk).update(deleted_at="2026-01-01T00:00:00Z")
    assert client.get(url).status_code == 404


def test_the_token_is_the_credential_not_a_csrf_cookie(customer, url):
    response = Client(enforce_csrf_checks=True).post(url, choices(frequency="less"))

    assert response.status_code == 200
    customer.refresh_from_db()
    assert customer.frequency == "less"


@override_settings(PREFERENCES_RATE_PER_MINUTE=2)
def test_guessing_tokens_is_rate_limited(client):
    codes = [client.get(f"/p/guess-{n}/").status_code for n in range(3)]

    assert codes == [404, 404, 429]
