"""The customer pages: list, 360, quick actions, My day, accounts and the ladder."""

from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from customers import activity, contracts, records, timeline
from customers.models import (
    Account,
    Complaint,
    Customer,
    FollowUp,
    Interaction,
    Purchase,
    Tier,
    TimelineEntry,
)

pytestmark = pytest.mark.django_db


def make_customer(owner, **fields) -> Customer:
    data = {"first_name": "Ann", "last_name": "Lee", "email": "ann@example.com", "owner": owner}
    data.update(fields)
    return records.create_customer(data=data, by=owner)


def make_many(owner, count: int, prefix: str = "c") -> list[Customer]:
    return [
        make_customer(owner, first_name=f"{prefix}{n}", email=f"{prefix}{n}@example.com")
        for n in range(count)
    ]


@pytest.fixture
def ann(manager) -> Customer:
    return make_customer(manager, phone="+14155552671")


@pytest.fixture
def busy_customer(manager) -> Customer:
    """A customer with something of everything, so the 360 page has rows to show."""
    customer = make_customer(manager, first_name="Busy", email="busy@example.com")
    for days in (300, 200, 100):
        activity.record_purchase(
            customer=customer, amount=Decimal("99.50"), purchased_on=date.today() - timedelta(days)
        )
    for n in range(5):
        activity.log_interaction(
            customer=customer,
            author=manager,
            channel="call",
            summary=f"call {n}",
            follow_up_on=date.today(),
        )
    complaint = activity.open_complaint(
        customer=customer, by=manager, category="delivery", description="late"
    )
    activity.open_complaint(customer=customer, by=manager, category="billing", description="x")
    activity.resolve_complaint(complaint=complaint, by=manager, resolution="refunded")
    contracts.add_contract(
        customer=customer,
        title="Service plan",
        starts_on=date.today() - timedelta(30),
        ends_on=date.today() + timedelta(300),
    )
    activity.record_referral(referrer=customer, referred_name="Bob")
    activity.give_reward(customer=customer, kind="gift", reason="birthday")
    return customer


# The list


def test_the_list_shows_a_marketer_every_customer(client, marketer, manager, other_manager):
    make_customer(manager, first_name="Mine", email="mine@example.com")
    make_customer(other_manager, first_name="Theirs", email="theirs@example.com")
    client.force_login(marketer)

    response = client.get("/customers/")

    assert response.status_code == 200
    assert b"Mine Lee" in response.content
    assert b"Theirs Lee" in response.content


def test_the_list_shows_an_account_manager_only_their_own(client, manager, other_manager):
    make_customer(manager, first_name="Mine", email="mine@example.com")
    make_customer(other_manager, first_name="Theirs", email="theirs@example.com")
    client.force_login(manager)

    response = client.get("/customers/")

    assert b"Mine Lee" in response.content
    assert b"Theirs Lee" not in response.content


def test_the_list_searches_name_email_phone_and_account(client, marketer, manager):
    acme = Account.objects.create(name="Acme Tools")
    make_customer(manager, first_name="Zoe", last_name="Quill", email="zq@example.com")
    make_customer(
        manager,
        first_name="Yann",
        last_name="Other",
        email="yann@acme.example",
        phone="+14155550100",
        account=acme,
    )
    client.force_login(marketer)

    by_name = client.get("/customers/", {"q": "zoe quill"}).content
    by_account = client.get("/customers/", {"q": "acme tools"}).content
    by_phone = client.get("/customers/", {"q": "5550100"}).content

    assert b"Zoe Quill" in by_name and b"Yann Other" not in by_name
    assert b"Yann Other" in by_account and b"Zoe Quill" not in by_account
    assert b"Yann Other" in by_phone


def test_the_list_filters_by_tier_risk_and_open_complaint(client, marketer, manager):
    calm = make_customer(manager, first_name="Calm", email="calm@example.com")
    angry = make_customer(manager, first_name="Angry", email="angry@example.com")
    activity.open_complaint(customer=angry, by=manager, category="x", description="y")
    Customer.objects.filter(pk=angry.pk).update(churn_risk=80)
    Customer.objects.filter(pk=calm.pk).update(churn_risk=5)
    client.force_login(marketer)

    high = client.get("/customers/", {"risk": "high"}).content
    complaining = client.get("/customers/", {"open_complaint": "true"}).content
    prospects = client.get("/customers/", {"tier": "prospect"}).content
    clients = client.get("/customers/", {"tier": "client"}).content

    assert b"Angry Lee" in high and b"Calm Lee" not in high
    assert b"Angry Lee" in complaining and b"Calm Lee" not in complaining
    assert b"Angry Lee" in prospects and b"Calm Lee" in prospects
    assert b"Angry Lee" not in clients


def test_the_list_sorts_by_value(client, marketer, manager):
    low = make_customer(manager, first_name="Low", email="low@example.com")
    high = make_customer(manager, first_name="High", email="high@example.com")
    Customer.objects.filter(pk=low.pk).update(lifetime_value=10)
    Customer.objects.filter(pk=high.pk).update(lifetime_value=1000)
    client.force_login(marketer)

    content = client.get("/customers/", {"ordering": "-lifetime_value"}).content.decode()

    assert content.index("High Lee") < content.index("Low Lee")


def test_the_list_pages_without_counting_the_table(client, marketer, manager):
    make_many(manager, 55)
    client.force_login(marketer)

    first = client.get("/customers/").content.decode()
    second = client.get("/customers/", {"page": 2}).content.decode()

    assert 'rel="next"' in first
    assert 'rel="prev"' in second and 'rel="next"' not in second
    assert second.count("<tr>") == 1 + 5  # header row + the 5 left over


def test_the_list_explains_an_empty_result(client, marketer):
    client.force_login(marketer)

    response = client.get("/customers/", {"q": "nobody-at-all"})

    assert b"No customer matches these filters" in response.content


def test_the_list_runs_a_fixed_number_of_queries(
    client, marketer, manager, django_assert_max_num_queries
):
    make_many(manager, 5)
    client.force_login(marketer)
    # ... with the total, the programs of the program filter and the user's columns
    with django_assert_max_num_queries(9) as few:
        client.get("/customers/", {"risk": "low", "ordering": "-churn_risk"})

    make_many(manager, 40, prefix="more")
    with django_assert_max_num_queries(len(few.captured_queries)):
        client.get("/customers/", {"risk": "low", "ordering": "-churn_risk"})


# The 360 page


def test_the_360_page_shows_profile_value_ladder_and_timeline(client, manager, busy_customer):
    client.force_login(manager)

    response = client.get(f"/customers/{busy_customer.pk}/")

    content = response.content.decode()
    assert response.status_code == 200
    assert "Busy Lee" in content
    assert "Lifetime value" in content and "298.50" in content
    assert "Why this churn risk" in content
    assert "Client" in content  # the active contract made a client
    assert "Purchase: 99.50 EUR" in content
    assert "Complaint resolved: delivery" in content
    assert "billing" in content  # the open complaint, with its resolve form
    assert "Follow up: call 4" in content


def test_the_360_page_runs_a_fixed_number_of_queries(
    client, manager, ann, busy_customer, django_assert_max_num_queries
):
    client.force_login(manager)
    # 16, the seven grouped reads of the rules' facts for the ladder status, and what the
    # customer told us on the preference center.
    with django_assert_max_num_queries(24) as quiet:
        client.get(f"/customers/{ann.pk}/")

    with django_assert_max_num_queries(len(quiet.captured_queries)):
        client.get(f"/customers/{busy_customer.pk}/")


def test_the_timeline_pages_older_entries(client, manager, ann):
    for n in range(30):
        timeline.note_on_timeline(customer=ann, kind="note", title=f"note {n:02d}")
    client.force_login(manager)

    first = client.get(f"/customers/{ann.pk}/").content.decode()
    older = client.get(f"/customers/{ann.pk}/", {"page": 2}, HTTP_HX_REQUEST="true")

    assert "note 29" in first and "note 00" not in first
    assert "note 00" in older.content.decode()
    assert "<html" not in older.content.decode()  # a fragment for htmx


# Quick actions


def test_logging_an_interaction_with_htmx_returns_the_form_and_the_new_entry(client, manager, ann):
    client.force_login(manager)

    response = client.post(
        f"/customers/{ann.pk}/interactions/",
        {
            "channel": "call",
            "direction": "inbound",
            "summary": "Asked about renewal",
            "sentiment": "positive",
        },
        HTTP_HX_REQUEST="true",
    )

    content = response.content.decode()
    assert response.status_code == 200
    assert 'id="interaction-form"' in content
    assert 'hx-swap-oob="afterbegin:#timeline"' in content
    assert "Call (inbound): Asked about renewal" in content
    assert Interaction.objects.get(customer=ann).summary == "Asked about renewal"


def test_logging_an_interaction_without_javascript_redirects_back(client, manager, ann):
    client.force_login(manager)

    response = client.post(
        f"/customers/{ann.pk}/interactions/",
        {
            "channel": "meeting",
            "direction": "outbound",
            "summary": "Lunch",
            "sentiment": "neutral",
            "follow_up_on": "2030-01-02",
        },
    )

    assert response.status_code == 302
    assert response["Location"] == f"/customers/{ann.pk}/"
    follow_up = FollowUp.objects.get(customer=ann)
    assert follow_up.assignee == manager
    assert timezone.localdate(follow_up.due_at) == date(2030, 1, 2)


def test_an_invalid_interaction_shows_errors_and_writes_nothing(client, manager, ann):
    client.force_login(manager)
    entries = TimelineEntry.objects.count()

    htmx = client.post(
        f"/customers/{ann.pk}/interactions/",
        {"channel": "pigeon", "summary": ""},
        HTTP_HX_REQUEST="true",
    )
    plain = client.post(f"/customers/{ann.pk}/interactions/", {"channel": "call", "summary": ""})

    assert htmx.status_code == 200
    assert "Select a valid choice" in htmx.content.decode()
    assert plain.status_code == 400
    assert "This field is required" in plain.content.decode()
    assert not Interaction.objects.exists()
    assert TimelineEntry.objects.count() == entries


def test_opening_and_resolving_a_complaint(client, manager, ann):
    client.force_login(manager)

    client.post(
        f"/customers/{ann.pk}/complaints/",
        {"category": "delivery", "severity": "high", "description": "Box arrived crushed"},
    )
    complaint = Complaint.objects.get(customer=ann)
    empty = client.post(
        f"/customers/{ann.pk}/complaints/{complaint.pk}/resolve/",
        {"resolution": ""},
        HTTP_HX_REQUEST="true",
    )
    done = client.post(
        f"/customers/{ann.pk}/complaints/{complaint.pk}/resolve/",
        {"resolution": "Sent a new one"},
        HTTP_HX_REQUEST="true",
    )

    assert "This field is required" in empty.content.decode()
    assert "Resolved" in done.content.decode()
    complaint.refresh_from_db()
    assert complaint.status == "resolved"
    assert complaint.resolution == "Sent a new one"


def test_adding_purchase_contract_referral_and_reward(client, manager, ann):
    client.force_login(manager)
    base = f"/customers/{ann.pk}"

    client.post(
        f"{base}/purchases/", {"amount": "12.30", "currency": "EUR", "purchased_on": "2026-01-05"}
    )
    client.post(
        f"{base}/contracts/",
        {"title": "Plan", "starts_on": "2026-01-01", "ends_on": "2027-01-01", "value": "100"},
    )
    client.post(f"{base}/referrals/", {"referred_name": "Bob"})
    client.post(f"{base}/rewards/", {"kind": "gift", "value": "5", "reason": "Thanks"})

    ann.refresh_from_db()
    assert Purchase.objects.get(customer=ann).amount == Decimal("12.30")
    assert ann.contracts.get().title == "Plan"
    assert ann.referrals.get().referred_name == "Bob"
    assert ann.rewards.get().reason == "Thanks"


def test_a_contract_ending_before_it_starts_is_refused(client, manager, ann):
    client.force_login(manager)

    response = client.post(
        f"/customers/{ann.pk}/contracts/",
        {"title": "Plan", "starts_on": "2026-05-01", "ends_on": "2026-01-01", "value": "1"},
    )

    assert response.status_code == 400
    assert "cannot end before it starts" in response.content.decode()
    assert not ann.contracts.exists()


def test_setting_the_tier_by_hand_needs_a_reason(client, manager, ann):
    client.force_login(manager)
    client_tier = Tier.objects.get(slug="client")

    refused = client.post(f"/customers/{ann.pk}/tier/", {"tier": client_tier.pk, "reason": ""})
    accepted = client.post(
        f"/customers/{ann.pk}/tier/", {"tier": client_tier.pk, "reason": "Signed a frame deal"}
    )

    ann.refresh_from_db()
    assert refused.status_code == 400
    assert accepted.status_code == 302
    assert ann.tier == client_tier
    assert ann.manual_tier_until is not None
    assert ann.tier_changes.first().changed_by == manager


# Create and edit


def test_creating_a_customer_normalises_email_and_phone(client, manager):
    client.force_login(manager)

    response = client.post(
        "/customers/new/",
        {
            "first_name": "Cy",
            "last_name": "Po",
            "email": " CY@Example.COM ",
            "phone": "(415) 555-2671",
            "audience": "retail",
            "relationship": "customer",
            "preferred_channel": "email",
            "consent_email": "on",
        },
    )

    customer = Customer.objects.get(first_name="Cy")
    assert response.status_code == 302
    assert customer.email == "cy@example.com"
    assert customer.phone == "+14155552671"
    assert customer.owner == manager  # an account manager owns what they create
    assert customer.consent_email is True


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("email", "not-an-email", "Enter a valid email address."),
        ("email", "ANN@example.com", "Another customer already has this e-mail address."),
        ("phone", "12", "is not a valid phone number"),
        ("timezone", "Mars/Olympus", "Select a valid choice"),
        ("partner_kind", "dealer", "Only channel partners have a partner kind."),
        ("estimated_wallet", "-5", "greater than or equal to 0"),
    ],
)
def test_bad_input_is_shown_next_to_the_field_and_changes_nothing(
    client, manager, ann, field, value, message
):
    client.force_login(manager)
    before = Customer.objects.count()
    data = {
        "first_name": "Cy",
        "email": "cy@example.com",
        "audience": "retail",
        "relationship": "customer",
        "preferred_channel": "email",
        field: value,
    }

    response = client.post("/customers/new/", data)

    assert response.status_code == 400
    assert message in response.content.decode()
    assert Customer.objects.count() == before


def test_editing_a_customer_withdraws_consent_with_a_record(client, manager):
    customer = make_customer(manager, consent_email=True)
    client.force_login(manager)

    client.post(
        f"/customers/{customer.pk}/edit/",
        {
            "first_name": "Ann",
            "last_name": "Lee",
            "email": "ann@example.com",
            "audience": "retail",
            "relationship": "customer",
            "preferred_channel": "sms",
        },
    )

    customer.refresh_from_db()
    assert customer.preferred_channel == "sms"
    assert customer.consent_email is False
    change = customer.consent_changes.first()
    assert (change.channel, change.granted, change.changed_by) == ("email", False, manager)


def test_only_marketers_may_assign_owners(client, marketer, manager, other_manager):
    client.force_login(marketer)

    client.post(
        "/customers/new/",
        {
            "first_name": "Di",
            "email": "di@example.com",
            "audience": "retail",
            "relationship": "customer",
            "preferred_channel": "email",
            "owner": other_manager.pk,
        },
    )

    assert Customer.objects.get(first_name="Di").owner == other_manager


# My day


def test_my_day_shows_what_is_due_and_who_is_at_risk(client, manager, other_manager, ann):
    activity.schedule_follow_up(
        customer=ann, assignee=manager, due_at=timezone.now() - timedelta(days=1), reason="Call"
    )
    activity.schedule_follow_up(
        customer=ann,
        assignee=manager,
        due_at=timezone.now() + timedelta(days=30),
        reason="Far away",
    )
    theirs = make_customer(other_manager, first_name="Theirs", email="t@example.com")
    activity.schedule_follow_up(
        customer=theirs, assignee=other_manager, due_at=timezone.now(), reason="Not mine"
    )
    Customer.objects.filter(pk=ann.pk).update(churn_risk=90)
    client.force_login(manager)

    content = client.get("/my-day/").content.decode()

    assert "Call" in content and "(overdue)" in content
    assert "Far away" not in content
    assert "Not mine" not in content
    assert "Ann Lee" in content


def test_a_follow_up_is_done_in_one_click(client, manager, ann):
    follow_up = activity.schedule_follow_up(
        customer=ann, assignee=manager, due_at=timezone.now(), reason="Call back"
    )
    client.force_login(manager)

    response = client.post(f"/follow-ups/{follow_up.pk}/done/", HTTP_HX_REQUEST="true")

    follow_up.refresh_from_db()
    assert response.status_code == 200
    assert "done" in response.content.decode()
    assert follow_up.done_by == manager


def test_my_day_runs_a_fixed_number_of_queries(client, manager, django_assert_max_num_queries):
    customers = make_many(manager, 3)
    for customer in customers:
        activity.schedule_follow_up(
            customer=customer, assignee=manager, due_at=timezone.now(), reason="x"
        )
    client.force_login(manager)
    # 10, and the customers at risk of dropping a tier.
    with django_assert_max_num_queries(11) as few:
        client.get("/my-day/")

    for customer in make_many(manager, 15, prefix="more"):
        activity.schedule_follow_up(
            customer=customer, assignee=manager, due_at=timezone.now(), reason="y"
        )
        activity.open_complaint(customer=customer, by=manager, category="c", description="d")
    with django_assert_max_num_queries(len(few.captured_queries)):
        client.get("/my-day/")


# Ownership: another manager's customer is a 404 on every page and form


OWNED_URLS = [
    ("get", "/customers/{pk}/"),
    ("get", "/customers/{pk}/edit/"),
    ("post", "/customers/{pk}/edit/"),
    ("post", "/customers/{pk}/interactions/"),
    ("post", "/customers/{pk}/complaints/"),
    ("post", "/customers/{pk}/complaints/{complaint}/resolve/"),
    ("post", "/customers/{pk}/purchases/"),
    ("post", "/customers/{pk}/contracts/"),
    ("post", "/customers/{pk}/referrals/"),
    ("post", "/customers/{pk}/rewards/"),
    ("post", "/customers/{pk}/tier/"),
    ("post", "/follow-ups/{follow_up}/done/"),
]


@pytest.mark.parametrize(("method", "url"), OWNED_URLS)
def test_another_managers_customer_is_not_found(client, manager, other_manager, method, url):
    theirs = make_customer(other_manager, email="theirs@example.com")
    complaint = activity.open_complaint(
        customer=theirs, by=other_manager, category="x", description="y"
    )
    follow_up = activity.schedule_follow_up(
        customer=theirs, assignee=other_manager, due_at=timezone.now(), reason="z"
    )
    client.force_login(manager)
    entries = TimelineEntry.objects.count()

    response = getattr(client, method)(
        url.format(pk=theirs.pk, complaint=complaint.pk, follow_up=follow_up.pk),
        {"summary": "sneaky", "channel": "call", "resolution": "x", "reason": "x"},
    )

    assert response.status_code == 404
    assert b"Not found" in response.content
    assert TimelineEntry.objects.count() == entries


def test_a_deleted_customer_is_not_found(client, marketer, ann):
    records.delete_customer(customer=ann, by=marketer)
    client.force_login(marketer)

    assert client.get(f"/customers/{ann.pk}/").status_code == 404


def test_only_marketers_delete(client, manager, marketer, ann):
    client.force_login(manager)
    assert client.post(f"/customers/{ann.pk}/delete/").status_code == 403

    client.force_login(marketer)
    assert client.post(f"/customers/{ann.pk}/delete/").status_code == 302
    ann.refresh_from_db()
    assert ann.deleted_at is not None


@pytest.mark.parametrize("url", ["/customers/", "/customers/1/", "/my-day/", "/customers/ladder/"])
def test_pages_need_sign_in(client, url):
    response = client.get(url)

    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


def test_forms_are_csrf_protected(manager, ann):
    from django.test import Client

    strict = Client(enforce_csrf_checks=True)
    strict.force_login(manager)

    response = strict.post(
        f"/customers/{ann.pk}/interactions/", {"channel": "call", "summary": "x"}
    )

    assert response.status_code == 403
    assert not Interaction.objects.exists()


# The ladder page


def test_marketers_rename_recolour_add_and_remove_rungs(client, marketer, manager):
    customer = make_customer(manager)
    repeat = Tier.objects.get(slug="repeat")
    Customer.objects.filter(pk=customer.pk).update(tier=repeat)
    client.force_login(marketer)

    client.post(
        "/customers/ladder/",
        {
            "action": "save",
            "tier": repeat.pk,
            f"t{repeat.pk}-rank": repeat.rank,
            f"t{repeat.pk}-name": "Regular",
            f"t{repeat.pk}-slug": "repeat",
            f"t{repeat.pk}-colour": "#123456",
            f"t{repeat.pk}-description": "",
        },
    )
    client.post(
        "/customers/ladder/",
        {
            "action": "add",
            "new-rank": 9,
            "new-name": "VIP",
            "new-slug": "vip",
            "new-colour": "#000000",
            "new-description": "By invitation",
        },
    )
    client.post("/customers/ladder/", {"action": "remove", "tier": repeat.pk, "confirmed": "yes"})

    customer.refresh_from_db()
    assert Tier.objects.filter(slug="vip", name="VIP").exists()
    assert not Tier.objects.filter(slug="repeat").exists()
    assert customer.tier.slug == "first-time"
    assert customer.tier_changes.first().rule == "ladder.removed"


def test_account_managers_cannot_edit_the_ladder(client, manager):
    client.force_login(manager)

    assert client.get("/customers/ladder/").status_code == 403


def test_the_360_page_of_a_customer_without_owner(client, marketer):
    orphan = records.create_customer(data={"first_name": "Nobody's"}, by=marketer)

    response = (
        client.get(f"/customers/{orphan.pk}/") if client.force_login(marketer) is None else None
    )

    assert response.status_code == 200
    assert "owner: nobody" in response.content.decode()


def test_a_follow_up_due_earlier_today_is_today_not_overdue(client, manager, ann):
    start_of_today = timezone.localtime().replace(hour=0, minute=0, second=1)
    activity.schedule_follow_up(
        customer=ann, assignee=manager, due_at=start_of_today, reason="Call back"
    )
    client.force_login(manager)

    content = client.get("/my-day/").content.decode()

    assert "Call back" in content
    assert "(today)" in content
    assert "(overdue)" not in content


def test_owners_are_shown_by_their_display_name_on_the_list(client, marketer, manager):
    manager.first_name, manager.last_name = "Alex", "Moreau"
    manager.save()
    make_customer(manager)
    client.force_login(marketer)

    content = client.get("/customers/").content.decode()

    assert "<td>Alex Moreau</td>" in content


def test_column_headers_sort_by_a_click_and_a_second_click_turns_it_around(
    client, marketer, manager
):
    make_many(manager, 2)
    client.force_login(marketer)

    first = client.get("/customers/", {"risk": "low"})
    again = client.get("/customers/", {"risk": "low", "ordering": "-churn_risk"})

    assert first.context["sorts"]["churn_risk"] == {
        "query": "risk=low&ordering=-churn_risk",
        "state": "none",
    }
    assert again.context["sorts"]["churn_risk"]["state"] == "descending"
    assert again.context["sorts"]["churn_risk"]["query"] == "risk=low&ordering=churn_risk"
    assert 'aria-sort="descending"' in again.content.decode()


def test_the_column_chooser_is_remembered_for_the_user(client, marketer, manager):
    make_customer(manager, account=None)
    client.force_login(marketer)

    client.post(
        "/customers/columns/", {"columns": ["tier", "churn_risk"], "next": "/customers/?risk=low"}
    )
    content = client.get("/customers/").content.decode()
    client.force_login(manager)
    theirs = client.get("/customers/").content.decode()

    assert '<th scope="col">Tier</th>' in content
    assert "Share of wallet</th>" not in content and '<th scope="col">Bond</th>' not in content
    assert "Share of wallet</th>" in theirs  # everyone else keeps every column


def test_an_unknown_column_is_a_400_and_changes_nothing(client, marketer, manager):
    make_customer(manager)
    client.force_login(marketer)

    response = client.post("/customers/columns/", {"columns": ["tier", "password"]})

    assert response.status_code == 400
    assert "Share of wallet</th>" in client.get("/customers/").content.decode()


def test_the_columns_page_ticks_the_columns_shown(client, marketer):
    client.force_login(marketer)
    client.post("/customers/columns/", {"columns": ["nps"]})

    page = client.get("/customers/columns/", {"next": "/customers/?risk=high"})

    assert page.context["shown"] == {"nps"}
    assert page.context["next"] == "/customers/?risk=high"
    assert client.get("/customers/columns/", {"next": "//evil.example/"}).context["next"] == ""
