"""Static lists: made from a file of ids or e-mails or from the customers ticked on the list,
used wherever a segment is (enroll, invite, export), owned by their author."""

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile

from customers import static_lists
from customers.models import StaticList, StaticListMember
from programs.models import Enrollment, Program
from tests.factories import CustomerFactory

pytestmark = pytest.mark.django_db


def test_entries_from_a_file_skip_a_header_and_blank_rows():
    data = "email;note\nana@example.com,x\n\n 12 \n".encode("utf-8-sig")

    assert static_lists.entries_from_file(data) == ["ana@example.com", "12"]
    with pytest.raises(ValidationError):
        static_lists.entries_from_file(b"\xff\xfe bad")


def test_good_entries_land_and_bad_ones_are_reported_by_index(manager, other_manager):
    mine = CustomerFactory(owner=manager, email="ana@example.com")
    theirs = CustomerFactory(owner=other_manager)
    gone = CustomerFactory(owner=manager)
    gone.deleted_at = gone.created_at
    gone.save()

    made, outcome = static_lists.create_list(
        owner=manager,
        name=" Calls ",
        entries=["Ana@Example.com", str(theirs.pk), "", "x", str(gone.pk), str(mine.pk), "9" * 30],
    )

    assert made.name == "Calls" and outcome.changed == 1
    assert [(r["index"], r["reason"]) for r in outcome.refused] == [
        (1, "no such customer of yours"),
        (2, "empty"),
        (3, "neither a customer id nor an e-mail address"),
        (4, "no such customer of yours"),
        (6, "neither a customer id nor an e-mail address"),
    ]
    assert list(static_lists.list_customers(made)) == [mine]


def test_only_the_author_changes_a_list(marketer, manager):
    made, _ = static_lists.create_list(owner=marketer, name="Fair")
    customer = CustomerFactory(owner=manager)

    with pytest.raises(PermissionDenied):
        static_lists.change_members(static_list=made, by=manager, add=[str(customer.pk)])
    with pytest.raises(PermissionDenied):
        static_lists.delete_list(static_list=made, by=manager)
    assert not StaticListMember.objects.exists()
    # Marketers use everyone's lists; an account manager only their own.
    assert list(static_lists.lists_for(manager)) == []


def test_a_list_is_made_from_a_file_on_its_page(client, marketer):
    ana, ben = CustomerFactory(email="ana@example.com"), CustomerFactory()
    client.force_login(marketer)
    upload = SimpleUploadedFile("people.csv", f"id\n{ben.pk}\nana@example.com\nnope\n".encode())

    response = client.post("/customers/lists/", {"name": "Fair visitors", "file": upload})
    page = client.get("/customers/lists/").content.decode()

    assert response.status_code == 302
    made = StaticList.objects.get(name="Fair visitors")
    assert set(static_lists.list_customers(made)) == {ana, ben}
    assert "2 added. 1 refused: row 3 (nope: neither a customer id nor an e-mail address)" in page
    assert f'href="/programs/enroll/?list={made.pk}"' in page


def test_ticked_customers_go_onto_a_list_and_the_list_is_used_to_enroll(client, marketer):
    ticked = CustomerFactory.create_batch(2, consent_email=True)
    CustomerFactory(consent_email=True)
    client.force_login(marketer)
    ids = ",".join(str(c.pk) for c in ticked)

    onward = client.get("/customers/bulk/", {"action": "list", "ids": [c.pk for c in ticked]})
    confirm = client.get(onward["Location"])
    added = client.post(onward["Location"], {"list": "new", "name": "Picked"})

    assert onward["Location"].startswith("/customers/lists/add/?ids=")
    assert "Add 2 customers to a static list" in confirm.content.decode()
    assert added.status_code == 302
    made = StaticList.objects.get(name="Picked")
    assert {m.customer_id for m in made.members.all()} == {c.pk for c in ticked}
    # Once more onto the same list: nothing doubles.
    client.post(f"/customers/lists/add/?ids={ids}", {"list": str(made.pk)})
    assert made.members.count() == 2

    program = Program.objects.order_by("id").first()
    page = client.get(f"/programs/{program.pk}/enroll/", {"list": made.pk})
    client.post(f"/programs/{program.pk}/enroll/?list={made.pk}")
    export = client.get("/customers/export.csv", {"list": made.pk})

    assert page.context["matching"] == 2
    assert set(Enrollment.objects.values_list("customer_id", flat=True)) <= {c.pk for c in ticked}
    rows = b"".join(export.streaming_content).decode().strip().splitlines()
    assert export.status_code == 200 and len(rows) == 3  # the header and the two


def test_a_list_one_may_not_use_is_refused(client, marketer, manager):
    made, _ = static_lists.create_list(owner=marketer, name="Marketing's")
    client.force_login(manager)

    assert client.get("/customers/export.csv", {"list": made.pk}).status_code == 404
    assert client.get("/customers/export.csv", {"list": "x"}).status_code == 400
    assert client.post(f"/customers/lists/{made.pk}/delete/").status_code == 404
    customer = CustomerFactory(owner=manager)
    bad = client.post(f"/customers/lists/add/?ids={customer.pk}", {"list": str(made.pk)})
    assert bad.status_code == 400 and "not one of your lists" in bad.content.decode()
    assert StaticList.objects.count() == 1 and not StaticListMember.objects.exists()


def test_the_lists_page_reads_a_fixed_number_of_queries(
    client, marketer, django_assert_num_queries
):
    client.force_login(marketer)
    client.get("/customers/lists/")

    def count() -> int:
        from django.db import connection
        from django.test.utils import CaptureQueriesContext

        with CaptureQueriesContext(connection) as run:
            assert client.get("/customers/lists/").status_code == 200
        return len(run.captured_queries)

    static_lists.create_list(owner=marketer, name="One", entries=[str(CustomerFactory().pk)])
    few = count()
    for n in range(3):
        static_lists.create_list(
            owner=marketer, name=f"More {n}", entries=[str(CustomerFactory().pk) for _ in range(3)]
        )
    assert count() == few
    with django_assert_num_queries(few):
        client.get("/customers/lists/")
