"""Acting on ticked customers or on every customer a filter matches: enroll, invite, export,
assign an owner, delete, each after a page that says how many."""

import pytest

from customers.models import Audience, Customer
from programs.models import Enrollment, Program
from tests.factories import CustomerFactory

pytestmark = pytest.mark.django_db


def test_ticked_rows_go_on_to_the_enroll_page_which_counts_them(client, marketer):
    ticked = CustomerFactory.create_batch(2, consent_email=True)
    CustomerFactory(consent_email=True)
    client.force_login(marketer)
    program = Program.objects.order_by("id").first()

    response = client.get(
        "/customers/bulk/", {"action": "enroll", "ids": [c.pk for c in ticked], "query": ""}
    )
    ids = ",".join(str(c.pk) for c in ticked)
    assert response["Location"] == f"/programs/enroll/?ids={ids.replace(',', '%2C')}"
    page = client.get(f"/programs/{program.pk}/enroll/", {"ids": ids})
    client.post(f"/programs/{program.pk}/enroll/?ids={ids}")

    assert page.context["matching"] == 2
    assert set(Enrollment.objects.values_list("customer_id", flat=True)) <= {c.pk for c in ticked}


def test_everyone_matching_goes_on_with_the_lists_filter(client, marketer):
    client.force_login(marketer)

    response = client.get(
        "/customers/bulk/", {"action": "invite", "everyone": "1", "query": "audience=b2b&page=2"}
    )

    assert response["Location"] == "/surveys/invite/?audience=b2b"


def test_a_marketer_gives_ticked_customers_an_owner_after_a_confirmation(client, marketer, manager):
    ticked = CustomerFactory.create_batch(3)
    other = CustomerFactory()
    client.force_login(marketer)
    ids = ",".join(str(c.pk) for c in ticked)

    confirm = client.get("/customers/bulk/confirm/", {"action": "owner", "ids": ids})
    done = client.post(
        f"/customers/bulk/confirm/?action=owner&ids={ids}", {"owner": "manager"}, follow=True
    )

    assert "Assign an owner to 3 customers" in confirm.content.decode()
    assert "3 customers now owned by Alex" in done.content.decode()
    assert Customer.objects.filter(owner=manager).count() == 3
    other.refresh_from_db()
    assert other.owner is None


def test_only_admins_delete_and_only_after_the_confirmation(client, marketer, admin_user):
    b2b = CustomerFactory.create_batch(2, audience=Audience.B2B)
    CustomerFactory(audience=Audience.RETAIL)
    client.force_login(marketer)
    assert client.get("/customers/bulk/confirm/?action=delete&audience=b2b").status_code == 403

    client.force_login(admin_user)
    confirm = client.get("/customers/bulk/confirm/", {"action": "delete", "audience": "b2b"})
    assert Customer.objects.filter(deleted_at__isnull=True).count() == 3
    client.post("/customers/bulk/confirm/?action=delete&audience=b2b")

    assert "Delete 2 customers?" in confirm.content.decode()
    gone = set(Customer.objects.filter(deleted_at__isnull=False).values_list("pk", flat=True))
    assert gone == {c.pk for c in b2b}


@pytest.mark.parametrize("ids", ["", "x", "1,,y", "99999999", "-1", str(2**64)])
def test_bad_ids_are_a_400_and_change_nothing(client, marketer, ids):
    CustomerFactory()
    client.force_login(marketer)

    response = client.post(f"/customers/bulk/confirm/?action=owner&ids={ids}", {"owner": "x"})

    assert response.status_code == 400
    assert not Customer.objects.filter(owner__isnull=False).exists()


def test_an_account_manager_cannot_name_anothers_customer(client, manager, other_manager):
    theirs = CustomerFactory(owner=other_manager)
    client.force_login(manager)

    response = client.get("/customers/export.csv", {"ids": str(theirs.pk)})

    assert response.status_code == 400


def test_an_unknown_action_is_a_400(client, marketer):
    client.force_login(marketer)

    assert client.get("/customers/bulk/", {"action": "explode"}).status_code == 400
    assert client.get("/customers/bulk/confirm/", {"action": "explode"}).status_code == 400


def test_the_list_offers_ticking_and_the_actions_of_the_role(client, marketer, manager):
    CustomerFactory(owner=manager)
    client.force_login(manager)
    mine = client.get("/customers/").content.decode()
    client.force_login(marketer)
    theirs = client.get("/customers/").content.decode()

    assert 'name="ids"' in mine and 'id="pick-page"' in mine
    assert '<option value="owner">' not in mine and '<option value="owner">' in theirs
    assert '<option value="delete">' not in theirs
