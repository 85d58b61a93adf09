"""The public survey page: one click from the e-mail, both texts, and what must be refused."""

from datetime import timedelta

import pytest
from django.core.cache import cache
from django.test import Client
from django.utils import timezone

from customers import records
from nps import links, services
from nps.models import Invitation, Response, Survey

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def fresh_rate_limit():
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def invitation(manager) -> Invitation:
    customer = records.create_customer(
        data={"first_name": "Ann", "email": "ann@example.com", "owner": manager}, by=manager
    )
    survey = Survey.objects.get()
    return services.invite(survey=survey, customers=[customer]).invited[0]


def test_one_click_from_the_email_records_the_score_and_asks_the_two_questions(client, invitation):
    response = client.get(f"/s/{invitation.token}/?score=9")

    content = response.content.decode()
    assert response.status_code == 200
    assert Response.objects.get(invitation=invitation).score == 9
    assert "your score 9 is saved" in content
    assert 'id="score-9" value="9" checked' in content
    assert "Why did you give that score?" in content
    assert "What would we have to do to earn a 10?" in content


def test_the_page_alone_works_and_the_form_sends_both_texts(client, invitation):
    page = client.get(f"/s/{invitation.token}/")
    answer = client.post(
        f"/s/{invitation.token}/",
        {"score": "3", "why": "Late delivery", "improve": "Be on time", "preferred_channel": "sms"},
    )

    saved = Response.objects.get(invitation=invitation)
    assert page.status_code == 200
    assert answer.status_code == 302
    assert answer["Location"] == f"/s/{invitation.token}/thanks/"
    assert (saved.score, saved.why, saved.improve) == (3, "Late delivery", "Be on time")
    invitation.customer.refresh_from_db()
    assert invitation.customer.preferred_channel == "sms"


def test_answering_twice_updates_the_same_response(client, invitation):
    client.get(f"/s/{invitation.token}/?score=2")
    client.post(f"/s/{invitation.token}/", {"score": "8", "why": "Changed my mind"})

    assert Response.objects.filter(invitation=invitation).count() == 1
    assert Response.objects.get(invitation=invitation).score == 8
    assert invitation.customer.timeline.filter(kind="survey").count() == 1


def test_the_thank_you_page_mentions_the_premium(client, invitation):
    client.post(f"/s/{invitation.token}/", {"score": "10"})

    response = client.get(f"/s/{invitation.token}/thanks/")

    assert "a 10% voucher on your next order" in response.content.decode()


def test_a_score_link_opened_after_answering_keeps_the_answer(client, invitation):
    client.post(f"/s/{invitation.token}/", {"score": "3", "why": "Late twice"})

    response = client.get(f"/s/{invitation.token}/?score=10")

    saved = Response.objects.get(invitation=invitation)
    content = response.content.decode()
    assert response.status_code == 200
    assert (saved.score, saved.why) == (3, "Late twice")
    assert "You answered 3 before, and that answer is kept." in content
    assert 'id="score-3" value="3" checked' in content
    assert "Late twice</textarea>" in content


def test_a_second_score_link_does_not_rewrite_the_first(client, invitation):
    client.get(f"/s/{invitation.token}/?score=2")
    client.get(f"/s/{invitation.token}/?score=10")

    assert Response.objects.get(invitation=invitation).score == 2
    assert invitation.customer.timeline.filter(kind="survey").count() == 1


def test_the_customers_own_post_still_changes_the_answer(client, invitation):
    client.get(f"/s/{invitation.token}/?score=2")
    client.get(f"/s/{invitation.token}/?score=10")
    client.post(f"/s/{invitation.token}/", {"score": "7", "why": "On reflection"})

    assert Response.objects.get(invitation=invitation).score == 7


def test_a_head_request_records_nothing(client, invitation):
    response = client.head(f"/s/{invitation.token}/?score=10")

    assert response.status_code == 200
    assert not Response.objects.exists()


def test_a_head_request_after_answering_changes_nothing(client, invitation):
    client.post(f"/s/{invitation.token}/", {"score": "3", "why": "Late twice"})

    client.head(f"/s/{invitation.token}/?score=10")

    assert Response.objects.get(invitation=invitation).score == 3


def test_other_methods_are_refused(client, invitation):
    response = client.put(f"/s/{invitation.token}/?score=10")

    assert response.status_code == 405
    assert not Response.objects.exists()


@pytest.mark.parametrize("value", ["11", "-1", "ten", ""])
def test_scores_outside_0_to_10_are_refused_with_a_message(client, invitation, value):
    by_link = client.get(f"/s/{invitation.token}/", {"score": value})
    by_form = client.post(f"/s/{invitation.token}/", {"score": value})

    assert by_link.status_code == by_form.status_code == 400
    assert "Choose a score from 0 to 10." in by_form.content.decode()
    assert not Response.objects.exists()


def test_oversized_texts_are_refused(client, invitation):
    response = client.post(f"/s/{invitation.token}/", {"score": "5", "why": "x" * 2001})

    assert response.status_code == 400
    assert "under 2000 characters" in response.content.decode()
    assert not Response.objects.exists()


def test_an_unknown_token_gets_a_friendly_404_that_reveals_nothing(client, invitation):
    response = client.get("/s/not-a-real-token/?score=9")

    assert response.status_code == 404
    assert "This survey is closed" in response.content.decode()
    assert "Ann" not in response.content.decode()
    assert not Response.objects.exists()


def test_an_expired_invitation_gets_410_and_records_nothing(client, invitation):
    Invitation.objects.filter(pk=invitation.pk).update(
        expires_at=timezone.now() - timedelta(seconds=1)
    )

    response = client.get(f"/s/{invitation.token}/?score=9")

    assert response.status_code == 410
    assert "This survey is closed" in response.content.decode()
    assert not Response.objects.exists()


def test_the_form_works_without_cookies_or_csrf_token(invitation):
    # A customer who blocks cookies never gets a CSRF cookie: the token in the URL is enough.
    strict = Client(enforce_csrf_checks=True)

    response = strict.post(f"/s/{invitation.token}/", {"score": "9"})

    assert response.status_code == 302
    assert Response.objects.get(invitation=invitation).score == 9


def test_a_cross_site_post_without_a_valid_token_changes_nothing(invitation):
    strict = Client(enforce_csrf_checks=True, HTTP_ORIGIN="https://evil.example")

    last = "y" if invitation.token.endswith("x") else "x"
    response = strict.post(f"/s/{invitation.token[:-1]}{last}/", {"score": "0"})

    assert response.status_code == 404
    assert not Response.objects.exists()


def test_the_pages_are_rate_limited_per_address(client, invitation, settings):
    settings.SURVEY_RATE_PER_MINUTE = 3

    statuses = [client.get(f"/s/{invitation.token}/").status_code for _ in range(4)]
    elsewhere = Client(REMOTE_ADDR="10.9.8.7").get(f"/s/{invitation.token}/")

    assert statuses == [200, 200, 200, 429]
    assert elsewhere.status_code == 200


def test_tokens_are_long_and_random(invitation):
    other = Invitation.objects.create(
        survey=invitation.survey,
        customer=invitation.customer,
        token=links.new_token(),
        expires_at=timezone.now() + timedelta(days=1),
    )
    many = [links.new_token() for _ in range(200)]

    assert len(invitation.token) >= 32
    assert invitation.token != other.token
    # Nothing about the customer or the order of issue: no shared prefix among many tokens.
    assert len(set(many)) == 200
    assert len({token[:4] for token in many}) > 190


def test_a_detractor_nobody_owns_yet_can_answer_and_their_next_owner_gets_the_call(client, manager):
    customer = records.create_customer(
        data={"first_name": "Bo", "email": "bo@example.com"}, by=None
    )
    invitation = services.invite(survey=Survey.objects.get(), customers=[customer]).invited[0]

    answer = client.post(f"/s/{invitation.token}/", {"score": "2", "why": "Nobody called back"})

    assert answer.status_code == 302
    assert Response.objects.get(invitation=invitation).score == 2
    follow_up = customer.follow_ups.get(source__startswith="detractor:")
    assert follow_up.assignee is None
    assert "Nobody called back" in follow_up.notes
    records.update_customer(customer=customer, data={"owner": manager}, by=None)
    follow_up.refresh_from_db()
    assert follow_up.assignee == manager


def test_a_premium_as_long_as_the_form_allows_still_lets_customers_answer(client, invitation):
    survey = invitation.survey
    survey.premium = "x" * survey._meta.get_field("premium").max_length
    survey.save()

    answer = client.post(f"/s/{invitation.token}/", {"score": "9"})

    assert answer.status_code == 302
    reward = invitation.customer.rewards.get()
    assert reward.reason.startswith("Premium for answering: xxx")
