"""What a customer lacks for a rung reads in the reader's language: the 360 page, the ladder API
and the at-risk line on the timeline; an import's worker writes in its marketer's language."""

from datetime import date, timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.utils import timezone, translation

from bonding.staff_language import set_language
from customers import activity, imports, placement, records, tasks
from customers.ladder import LadderFacts, Thresholds
from customers.models import Customer, ImportJob, ImportRejection, Tier, TimelineEntry
from customers.sayings import translated
from customers.standing import requirements
from tests.factories import CustomerFactory, PurchaseFactory

pytestmark = pytest.mark.django_db

TODAY = date(2026, 6, 1)


def reader(user, language: str) -> Client:
    client = Client(headers={"accept-language": language})
    client.force_login(user)
    return client


def said_in(language: str, lines: list[str]) -> list[str]:
    with translation.override(language):
        return [translated(line) for line in lines]


def test_each_line_is_english_and_says_itself_again_with_its_plural_and_amount():
    facts = LadderFacts(
        today=TODAY, purchase_count=9, purchases_12m=2, customer_since=date(2024, 6, 1)
    )
    lines = requirements(
        facts=facts, slug="client", thresholds=Thresholds(client_min_tenure_months=36)
    )

    assert lines == [
        "2 more purchases in the last 12 months",
        "1,000 more spend in the last 12 months",
        "or 12 more months as a customer, buying repeatedly",
        "or an active contract instead",
    ]
    assert said_in("de", lines) == [
        "2 weitere Käufe in den letzten 12 Monaten",
        "1.000 mehr Umsatz in den letzten 12 Monaten",
        "oder 12 weitere Monate als Kunde mit wiederholten Käufen",
        "oder stattdessen ein aktiver Vertrag",
    ]
    assert said_in("es", lines)[0] == "2 compras más en los últimos 12 meses"


def test_a_single_one_takes_the_singular_in_every_language():
    facts = LadderFacts(today=TODAY, purchase_count=1, purchases_12m=1, open_complaints=1)
    lines = requirements(facts=facts, slug="advocate")

    assert "1 open complaint resolved" in lines
    assert "1 offene Beschwerde gelöst" in said_in("de", lines)
    assert "1 reclamación abierta resuelta" in said_in("es", lines)
    assert said_in("de", lines)[0] == "1 weiterer Kauf in den letzten 12 Monaten"


def test_the_360_page_and_the_api_say_what_is_missing_in_the_readers_language(manager):
    ann = records.create_customer(data={"first_name": "Ann", "owner": manager}, by=None)
    activity.record_purchase(customer=ann, amount="40.00", purchased_on=timezone.localdate())

    german = reader(manager, "de").get(f"/customers/{ann.pk}/").content.decode()
    spanish = reader(manager, "es").get(f"/api/v1/customers/{ann.pk}/ladder/").json()
    english = reader(manager, "en").get(f"/api/v1/customers/{ann.pk}/ladder/").json()

    assert "<li>1 weiterer Kauf in den letzten 12 Monaten</li>" in german
    assert spanish["to_next"] == ["1 compra más en los últimos 12 meses"]
    assert english["to_next"] == ["1 more purchase in the last 12 months"]


def test_the_at_risk_line_keeps_each_line_said_again_in_the_readers_language(manager):
    customer = CustomerFactory(
        owner=manager, tier=Tier.objects.get(slug="repeat"), tier_review_on=timezone.localdate()
    )
    PurchaseFactory(customer=customer)

    placement.place_customer(customer=customer)

    until = timezone.localdate() + timedelta(days=60)
    line = TimelineEntry.objects.get(customer=customer, kind="tier_at_risk")
    assert line.title == (
        f"At risk of dropping from Repeat customer after {until.isoformat()}: to keep it, "
        "1 more purchase in the last 12 months"
    )
    with translation.override("de"):
        assert line.shown_title == (
            f"Droht nach dem {until.isoformat()} aus Repeat customer zu fallen; um die Stufe zu "
            "halten: 1 weiterer Kauf in den letzten 12 Monaten"
        )
    assert Customer.objects.get(pk=customer.pk).tier_at_risk_until == until


def test_nothing_to_name_says_qualify_again_in_the_readers_language(manager):
    # A custom rung the rules know nothing of lists no line: "qualify again" stands for them.
    custom = Tier.objects.create(name="Gold", slug="gold", rank=99)
    customer = CustomerFactory(owner=manager, tier=custom, tier_review_on=timezone.localdate())
    placement.place_customer(customer=customer)

    line = TimelineEntry.objects.get(customer=customer, kind="tier_at_risk")
    assert line.title.endswith("to keep it, qualify again")
    with translation.override("es"):
        assert line.shown_title.endswith("volver a cumplir los requisitos")


def test_an_imports_worker_writes_the_rows_errors_in_its_marketers_language(marketer):
    set_language(user=marketer, language="de")
    content = b"External ID,First name,E-mail,Consent e-mail\nA1,Ann,ann@example.com,maybe\n"
    job = imports.store_upload(
        upload=SimpleUploadedFile("c.csv", content, "text/csv"), by=marketer, delimiter=""
    )
    imports.set_mapping(job=job, mapping=job.mapping)
    ImportJob.objects.filter(pk=job.pk).update(status=ImportJob.Status.RUNNING)

    with translation.override("en"):  # the worker's own language
        imports.run_import(job_id=job.pk, refresh_later=tasks.refresh_customers_task.delay)

    reason = ImportRejection.objects.get(job=job).reason
    assert reason == "Spalte „Consent e-mail“: „maybe“ ist nicht yes, no, true, false, 1 oder 0."
    assert translation.get_language() == "en"
    assert not Customer.objects.exists()
