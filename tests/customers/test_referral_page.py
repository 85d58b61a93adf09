"""The public referral page /r/<code>/: a friend signs up, matched or new, and what is refused."""

import pytest
from django.test import Client

from customers.models import Customer, FollowUp, Referral, TimelineEntry
from tests.factories import CustomerFactory, ReferralFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def referral(manager) -> Referral:
    referrer = CustomerFactory(
        first_name="Ann",
        last_name="Lee",
        email="ann@example.com",
        owner=manager,
        preferred_channel="phone",
    )
    return ReferralFactory(referrer=referrer, referred_name="", code="ABC123DEF0")


def friend(**values) -> dict:
    return {"first_name": "Bob", "last_name": "Friend", "email": "bob@example.com"} | values


def referral_lines(customer: Customer) -> list[str]:
    return list(
        customer.timeline.filter(kind=TimelineEntry.Kind.REFERRAL).values_list("title", flat=True)
    )


def test_the_page_asks_for_the_friends_details(client, referral, django_assert_num_queries):
    with django_assert_num_queries(1):
        response = client.get("/r/ABC123DEF0/")

    content = response.content.decode()
    assert response.status_code == 200
    assert "Ann thinks you would like" in content
    assert 'name="email"' in content and 'name="consent_sms"' in content


def test_a_typed_code_is_read_case_insensitively(client, referral):
    assert client.get("/r/abc123def0/").status_code == 200


def test_a_new_friend_becomes_a_prospect_on_both_timelines(
    client, referral, manager, django_assert_num_queries
):
    # The referral (read, then locked with its referrer and their manager), the match by
    # e-mail and phone, the prospect (checks, consent, timeline, first bond stage), the
    # referral, both timeline lines at once, the thanks; with their savepoints; the webhook
    # events of the new customer (its owner's name and its topics read, then written), its
    # tier and the referral's signing up.
    with django_assert_num_queries(43):
        response = client.post("/r/ABC123DEF0/", friend(consent_email="on", phone="(415) 555-0101"))

    assert response.status_code == 200
    assert "Thank you" in response.content.decode()
    bob = Customer.objects.get(email="bob@example.com")
    assert (bob.relationship, bob.owner, bob.consent_email, bob.consent_sms) == (
        "prospect",
        manager,
        True,
        False,
    )
    assert bob.phone == "+14155550101"
    referral.refresh_from_db()
    assert (referral.referred_customer, referral.status) == (bob, Referral.Status.SIGNED_UP)
    assert referral_lines(bob) == ["Referred by Ann Lee (code ABC123DEF0)"]
    assert "Bob Friend signed up with referral code ABC123DEF0" in referral_lines(referral.referrer)
    thanks = FollowUp.objects.get(customer=referral.referrer, source="referral")
    assert thanks.assignee == manager
    assert "(phone call)" in thanks.reason


def test_a_known_customer_is_matched_by_email_or_phone(client, referral):
    known = CustomerFactory(first_name="Bob", email="bob@example.com", consent_sms=False)
    by_phone = CustomerFactory(first_name="Cy", email="", phone="+14155550102")
    other = ReferralFactory(referrer=referral.referrer, code="SECOND0001")
    before = Customer.objects.count()

    first = client.post("/r/ABC123DEF0/", friend(email="BOB@example.com", consent_sms="on"))
    second = client.post(
        "/r/SECOND0001/", {"first_name": "Cy", "email": "", "phone": "(415) 555-0102"}
    )

    assert (first.status_code, second.status_code) == (200, 200)
    assert Customer.objects.count() == before
    referral.refresh_from_db()
    other.refresh_from_db()
    assert (referral.referred_customer, other.referred_customer) == (known, by_phone)
    known.refresh_from_db()
    assert known.consent_sms  # the consent given on the page is recorded
    assert referral_lines(known)


def test_signing_up_twice_changes_nothing_more(client, referral):
    client.post("/r/ABC123DEF0/", friend())
    counts = (Customer.objects.count(), TimelineEntry.objects.count(), FollowUp.objects.count())

    again = client.post("/r/ABC123DEF0/", friend(email="Bob@Example.com"))

    assert again.status_code == 200
    assert Customer.objects.filter(email="bob@example.com").count() == 1
    assert (
        Customer.objects.count(),
        TimelineEntry.objects.count(),
        FollowUp.objects.count(),
    ) == counts


@pytest.mark.parametrize(
    "values",
    [
        friend(email="not an address"),
        friend(first_name=""),
        friend(email="", phone=""),
        friend(phone="12"),
        friend(first_name="x" * 101),
        friend(last_name="nul\x00byte"),
    ],
)
def test_bad_input_is_refused_and_changes_nothing(client, referral, values):
    counts = (Customer.objects.count(), TimelineEntry.objects.count(), FollowUp.objects.count())

    response = client.post("/r/ABC123DEF0/", values)

    assert response.status_code == 400
    assert 'role="alert"' in response.content.decode()
    assert (
        Customer.objects.count(),
        TimelineEntry.objects.count(),
        FollowUp.objects.count(),
    ) == counts
    referral.refresh_from_db()
    assert (referral.status, referral.referred_customer) == (Referral.Status.INVITED, None)


def test_the_referrer_cannot_sign_up_with_their_own_code(client, referral):
    response = client.post("/r/ABC123DEF0/", friend(email="ann@example.com"))

    assert response.status_code == 400
    referral.refresh_from_db()
    assert referral.referred_customer is None


def test_unknown_withdrawn_and_used_codes_get_a_friendly_page(client, referral):
    ReferralFactory(code="GONE000001", status=Referral.Status.EXPIRED)
    client.post("/r/ABC123DEF0/", friend())
    before = Customer.objects.count()

    unknown = client.get("/r/NOSUCHCODE/")
    withdrawn = client.post("/r/GONE000001/", friend(email="cy@example.com"))
    used = client.post("/r/ABC123DEF0/", friend(email="dee@example.com"))

    assert (unknown.status_code, withdrawn.status_code, used.status_code) == (404, 404, 410)
    for response in (unknown, withdrawn, used):
        assert "This referral link does not work" in response.content.decode()
    assert Customer.objects.count() == before


def test_a_browser_without_cookies_can_sign_up(referral):
    browser = Client(enforce_csrf_checks=True)

    response = browser.post("/r/ABC123DEF0/", friend())

    assert response.status_code == 200
    assert Customer.objects.filter(email="bob@example.com").exists()


def test_the_page_is_rate_limited_per_address(client, referral, settings):
    settings.REFERRAL_RATE_PER_MINUTE = 3

    statuses = [client.get("/r/ABC123DEF0/").status_code for _ in range(3)]
    statuses.append(client.post("/r/ABC123DEF0/", friend()).status_code)
    elsewhere = Client(REMOTE_ADDR="10.9.8.7").get("/r/ABC123DEF0/")

    assert statuses == [200, 200, 200, 429]
    assert elsewhere.status_code == 200
    assert not Customer.objects.filter(email="bob@example.com").exists()


def test_the_same_new_friend_signing_up_at_the_same_moment_is_a_400_never_a_500(
    client, referral, monkeypatch
):
    # Another code's sign-up created Bob between this request's match and its insert: the
    # match found no one (simulated), the insert meets the unique e-mail.
    bob = CustomerFactory(first_name="Bob", email="bob@example.com")
    from customers import matching

    real_match = matching.match_rows
    monkeypatch.setattr(matching, "match_rows", lambda **kwargs: {})

    response = client.post("/r/ABC123DEF0/", friend())

    assert response.status_code == 400
    assert "please send the form again" in response.content.decode()
    referral.refresh_from_db()
    assert referral.referred_customer is None
    assert Customer.objects.filter(email="bob@example.com").count() == 1
    monkeypatch.setattr(matching, "match_rows", real_match)
    assert client.post("/r/ABC123DEF0/", friend()).status_code == 200
    referral.refresh_from_db()
    assert referral.referred_customer == bob
