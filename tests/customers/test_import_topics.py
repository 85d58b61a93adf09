"""CSV import maps topics (names or slugs, ;-separated) and frequency; an unknown topic is a
row error by its line; a change of topics alone, by import or sync, writes a timeline line."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from customers import imports, sync, tasks
from customers.models import Customer, ImportJob, ImportRejection, TimelineEntry, Topic
from tests.factories import CustomerFactory

pytestmark = pytest.mark.django_db


def import_now(by, content: bytes) -> ImportJob:
    job = imports.store_upload(upload=SimpleUploadedFile("c.csv", content, "text/csv"), by=by)
    imports.set_mapping(job=job, mapping=job.mapping)
    ImportJob.objects.filter(pk=job.pk).update(status=ImportJob.Status.RUNNING)
    return imports.run_import(job_id=job.pk, refresh_later=tasks.refresh_customers_task.delay)


@pytest.fixture
def topics():
    return {
        "news": Topic.objects.create(name="Product news"),
        "near": Topic.objects.create(name="Events near me"),
    }


def test_the_mapping_suggests_topics_and_frequency():
    assert imports.suggest_mapping(header=["E-mail", "Interests", "How often"]) == {
        "0": "email",
        "1": "topics",
        "2": "frequency",
    }


def test_topics_by_name_or_slug_and_frequency_land_and_unknown_topics_are_row_errors(
    marketer, topics
):
    job = import_now(
        marketer,
        b"E-mail,Topics,Frequency\n"
        b"ann@example.com,Product news; events-near-me,less often\n"
        b"bob@example.com,product NEWS,usual\n"
        b"cid@example.com,Product news;Gardening,\n"
        b"dan@example.com,,sometimes\n",
    )

    assert (job.created, job.rejected) == (2, 2)
    ann = Customer.objects.get(email="ann@example.com")
    assert set(ann.topics.all()) == {topics["news"], topics["near"]}
    assert ann.frequency == "less"
    bob = Customer.objects.get(email="bob@example.com")
    assert list(bob.topics.all()) == [topics["news"]] and bob.frequency == "usual"
    reasons = dict(ImportRejection.objects.filter(job=job).values_list("line", "reason"))
    assert reasons[4] == "Column “Topics”: unknown topics: Gardening."
    assert "Column “Frequency”" in reasons[5] and "sometimes" in reasons[5]
    assert not Customer.objects.filter(email__in=["cid@example.com", "dan@example.com"]).exists()


def test_an_import_changing_only_topics_writes_a_timeline_line(marketer, topics):
    ann = CustomerFactory(email="ann@example.com")
    ann.topics.add(topics["news"])

    job = import_now(marketer, b"E-mail,Topics\nann@example.com,Events near me\n")

    assert (job.updated, job.unchanged) == (1, 0)
    assert list(ann.topics.all()) == [topics["near"]]
    (line,) = TimelineEntry.objects.filter(customer=ann, kind=TimelineEntry.Kind.PREFERENCES)
    assert line.title == "Topics set by CSV import c.csv"
    assert line.detail == "topics: Events near me"

    # The same topics again change nothing and write nothing.
    again = import_now(marketer, b"E-mail,Topics\nann@example.com,events-near-me\n")
    assert again.unchanged == 1
    assert TimelineEntry.objects.filter(customer=ann, kind="preferences").count() == 1


def test_a_sync_changing_only_topics_writes_a_timeline_line(marketer, topics):
    ann = CustomerFactory(external_id="A1")

    outcome = sync.upsert_customers(
        rows=[{"external_id": "A1", "topics": [topics["news"].pk]}],
        by=marketer,
        refresh_later=lambda ids: None,
        source="API sync",
    )

    assert outcome.updated == 1
    (line,) = TimelineEntry.objects.filter(customer=ann, kind=TimelineEntry.Kind.PREFERENCES)
    assert (line.title, line.detail) == ("Topics set by API sync", "topics: Product news")
