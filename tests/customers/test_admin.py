"""The back office: every table of the customers app opens fast, and its writes use the services."""

from collections.abc import Iterator
from decimal import Decimal

import pytest
from django.utils import timezone

from customers import activity, records
from customers.models import (
    BondChange,
    Complaint,
    ConsentChange,
    Contract,
    Customer,
    FollowUp,
    Interaction,
    Purchase,
    Referral,
    Reward,
    Tier,
    TierChange,
    TimelineEntry,
    ValueModel,
)
from customers.roles import ACCOUNT_MANAGERS
from tests.conftest import _user
from tests.factories import (
    AccountFactory,
    ComplaintFactory,
    ContractFactory,
    FollowUpFactory,
    InteractionFactory,
    ReferralFactory,
)
from tests.shared_data import kept_for_scope

pytestmark = pytest.mark.django_db

MODELS = (
    "tier",
    "account",
    "customer",
    "consentchange",
    "tierchange",
    "bondchange",
    "interaction",
    "complaint",
    "purchase",
    "contract",
    "referral",
    "reward",
    "followup",
    "timelineentry",
    "valuemodel",
)
# Session, user, counts, rows, filter choices: 5 to 10 today. A page that ran a query per row
# would need a dozen more.
MAX_QUERIES = 12


@pytest.fixture
def dozen(manager) -> list[Customer]:
    return make_dozen(manager)


def make_dozen(manager) -> list[Customer]:
    """A dozen rows in every table of the customers app."""
    customers = []
    for n in range(12):
        customer = records.create_customer(
            data={
                "first_name": "Ann",
                "last_name": f"Lee{n}",
                "email": f"ann{n}@example.com",
                "owner": manager,
                "account": AccountFactory(owner=manager),
                "consent_email": True,
            },
            by=manager,
        )
        customers.append(customer)
    for n, customer in enumerate(customers):
        activity.record_purchase(
            customer=customer, amount=Decimal("49.90"), purchased_on=timezone.localdate()
        )
        InteractionFactory(customer=customer, author=manager)
        ComplaintFactory(customer=customer, owner=manager)
        ContractFactory(customer=customer)
        ReferralFactory(referrer=customer, referred_customer=customers[n - 1])
        FollowUpFactory(customer=customer, assignee=manager)
        Reward.objects.create(customer=customer, kind=Reward.Kind.GIFT, reason="Thank you")
        ValueModel.objects.create(
            customers=12,
            bg_nbd_params={"r": 1, "alpha": 1, "a": 1, "b": 1},
            gamma_gamma_params={"p": 1, "q": 2, "v": 1},
        )
    return customers


@pytest.fixture(scope="class")
def dozen_once(django_db_setup, django_db_blocker) -> Iterator[list[Customer]]:
    """The dozen made once for a class whose tests only read it (tests/shared_data.py), and
    gone before the tests after the class."""

    def seed() -> list[Customer]:
        return make_dozen(_user("manager", ACCOUNT_MANAGERS, first_name="Alex"))

    with kept_for_scope(django_db_blocker, seed) as customers:
        yield customers


class TestEveryTable:
    """Each table's pages, read on the same dozen rows."""

    @pytest.mark.parametrize("model", MODELS)
    def test_each_list_and_change_page_opens_with_a_bounded_number_of_queries(
        self, client, admin_user, dozen_once, model, django_assert_max_num_queries
    ):
        client.force_login(admin_user)

        with django_assert_max_num_queries(MAX_QUERIES):
            listed = client.get(f"/admin/customers/{model}/")
        row = listed.context["cl"].result_list[0].pk
        with django_assert_max_num_queries(MAX_QUERIES):
            shown = client.get(f"/admin/customers/{model}/{row}/change/")
        searched = client.get(f"/admin/customers/{model}/", {"q": "lee1"})

        assert (listed.status_code, shown.status_code, searched.status_code) == (200, 200, 200)
        assert len(listed.context["cl"].result_list) >= 6


def test_the_customer_change_page_shows_value_figures_read_only_and_the_tier_history(
    client, admin_user, dozen
):
    client.force_login(admin_user)

    response = client.get(f"/admin/customers/customer/{dozen[0].pk}/change/")

    form = response.context["adminform"].form
    for figure in ("lifetime_value", "churn_risk", "tier", "bond_stage", "created_at"):
        assert figure not in form.fields
    assert "Prospect → First-time customer" in response.content.decode()


def test_the_customer_page_links_to_their_rows_in_every_table(client, admin_user, dozen):
    customer = dozen[0]
    client.force_login(admin_user)

    page = client.get(f"/admin/customers/customer/{customer.pk}/change/").content.decode()
    purchases = client.get(f"/admin/customers/purchase/?customer__id__exact={customer.pk}")
    referrals = client.get(f"/admin/customers/referral/?referrer__id__exact={customer.pk}")

    assert f"/admin/customers/purchase/?customer__id__exact={customer.pk}" in page
    assert [p.customer_id for p in purchases.context["cl"].result_list] == [customer.pk]
    assert [r.referrer_id for r in referrals.context["cl"].result_list] == [customer.pk]


def test_the_customer_picker_never_lists_every_customer(client, admin_user, dozen):
    client.force_login(admin_user)

    response = client.get(f"/admin/customers/purchase/{Purchase.objects.first().pk}/change/")

    assert response.content.decode().count("<option") < 5  # an autocomplete, not a select


def customer_form(customer: Customer, **changes) -> dict:
    data = {
        "external_id": "",
        "first_name": customer.first_name,
        "last_name": customer.last_name,
        "email": customer.email,
        "phone": "",
        "postal_address": "",
        "timezone": "",
        "account": customer.account_id or "",
        "audience": customer.audience,
        "relationship": customer.relationship,
        "partner_kind": "",
        "owner": customer.owner_id or "",
        "estimated_wallet": "",
        "preferred_channel": customer.preferred_channel,
        "_save": "Save",
    }
    data.update(
        {
            f"consent_{c}": "on"
            for c in ("email", "sms", "phone", "letter")
            if getattr(customer, f"consent_{c}")
        }
    )
    data.update(changes)
    return {k: v for k, v in data.items() if v is not None}


def test_saving_a_customer_in_the_admin_records_each_consent_change(client, admin_user, dozen):
    customer = dozen[0]
    client.force_login(admin_user)

    response = client.post(
        f"/admin/customers/customer/{customer.pk}/change/",
        customer_form(customer, consent_email=None, consent_sms="on", phone="+14155552671"),
    )

    assert response.status_code == 302
    customer.refresh_from_db()
    assert (customer.consent_email, customer.consent_sms) == (False, True)
    assert customer.phone == "+14155552671"
    changes = ConsentChange.objects.filter(customer=customer, source="admin", changed_by=admin_user)
    assert sorted(changes.values_list("channel", "granted")) == [("email", False), ("sms", True)]


def test_adding_a_customer_in_the_admin_places_them_on_the_ladder(client, admin_user, dozen):
    client.force_login(admin_user)
    blank = Customer(first_name="Zoë", last_name="New", email="ZOE@example.com")

    response = client.post("/admin/customers/customer/add/", customer_form(blank))

    assert response.status_code == 302
    zoe = Customer.objects.get(email="zoe@example.com")
    assert zoe.tier.slug == "prospect"
    assert TimelineEntry.objects.filter(customer=zoe, title="Customer created").exists()


def test_deleting_a_customer_in_the_admin_keeps_a_tombstone(client, admin_user, dozen):
    customer = dozen[0]
    client.force_login(admin_user)

    response = client.post(f"/admin/customers/customer/{customer.pk}/delete/", {"post": "yes"})

    assert response.status_code == 302
    customer.refresh_from_db()
    assert customer.deleted_at is not None
    assert customer.purchases.exists()


def test_a_marketer_renames_and_recolours_rungs_from_the_list(client, admin_user):
    client.force_login(admin_user)
    tiers = list(Tier.objects.order_by("rank"))
    data = {"form-TOTAL_FORMS": len(tiers), "form-INITIAL_FORMS": len(tiers), "_save": "Save"}
    for n, tier in enumerate(tiers):
        data |= {
            f"form-{n}-id": tier.pk,
            f"form-{n}-name": tier.name,
            f"form-{n}-colour": tier.colour,
        }
    data |= {"form-0-name": "Newcomer", "form-0-colour": "#112233"}

    response = client.post("/admin/customers/tier/", data)

    assert response.status_code == 302
    assert Tier.objects.values_list("name", "colour").get(pk=tiers[0].pk) == ("Newcomer", "#112233")


def test_a_colour_that_is_not_rrggbb_is_refused(client, admin_user):
    client.force_login(admin_user)
    tier = Tier.objects.order_by("rank").first()

    response = client.post(
        f"/admin/customers/tier/{tier.pk}/change/",
        {"rank": tier.rank, "name": tier.name, "slug": tier.slug, "colour": "red"},
    )

    assert response.status_code == 200
    assert "#rrggbb" in response.content.decode()
    tier.refresh_from_db()
    assert tier.colour != "red"


def test_removing_a_rung_steps_its_customers_down(client, admin_user, manager):
    customer = records.create_customer(data={"first_name": "Ann"}, by=manager)
    activity.record_purchase(
        customer=customer, amount=Decimal(10), purchased_on=timezone.localdate()
    )
    first_time = Tier.objects.get(slug="first-time")
    client.force_login(admin_user)

    confirm = client.get(f"/admin/customers/tier/{first_time.pk}/delete/")
    response = client.post(f"/admin/customers/tier/{first_time.pk}/delete/", {"post": "yes"})

    assert "1 customers step down" in confirm.content.decode()
    assert response.status_code == 302
    customer.refresh_from_db()
    assert customer.tier.slug == "prospect"
    assert TierChange.objects.filter(customer=customer, rule="ladder.removed").exists()


@pytest.mark.parametrize(
    "model", (ConsentChange, TierChange, BondChange, TimelineEntry, ValueModel)
)
def test_history_is_read_only(client, admin_user, dozen, model):
    client.force_login(admin_user)
    row = model.objects.first()
    name = model._meta.model_name

    add = client.get(f"/admin/customers/{name}/add/")
    delete = client.post(f"/admin/customers/{name}/{row.pk}/delete/", {"post": "yes"})

    assert add.status_code == 403
    assert delete.status_code == 403
    assert model.objects.filter(pk=row.pk).exists()


def test_the_other_tables_can_be_corrected(client, admin_user, dozen):
    client.force_login(admin_user)

    for model in (Interaction, Complaint, Purchase, Contract, Referral, Reward, FollowUp):
        response = client.get(f"/admin/customers/{model._meta.model_name}/add/")
        assert response.status_code == 200, model
