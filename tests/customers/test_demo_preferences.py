"""The demo's preference center: topics, customers who chose theirs and said what they value,
written through the services on their own clock; a second run changes nothing."""

import pytest
from django.utils import timezone

from customers import demo_preferences
from customers.models import ConsentChange, Customer, TimelineEntry, Topic, ValueAnswer
from tests.factories import CustomerFactory

pytestmark = pytest.mark.django_db


def test_demo_customers_choose_topics_and_say_what_they_value():
    for n in range(60):
        CustomerFactory(external_id=f"demo-{n}", consent_email=True, phone=f"+1415555{n:04d}")
    CustomerFactory(external_id="not-demo", consent_email=True)

    told = demo_preferences.seed_preferences()

    assert told["topics"] == Topic.objects.count() == 3
    assert 5 <= told["customers"] <= 25
    assert told["answers"] == ValueAnswer.objects.count() > 0
    chose = Customer.objects.filter(topics__isnull=False).distinct()
    assert chose.count() == told["customers"]
    assert not chose.filter(external_id="not-demo").exists()
    # Each answer has its timeline line at the time it was given, in the past.
    for answer in ValueAnswer.objects.all():
        line = TimelineEntry.objects.get(kind="value_answer", source_id=answer.pk)
        assert line.occurred_at == answer.answered_at < timezone.now()
    sources = set(ConsentChange.objects.values_list("source", flat=True))
    assert sources <= {"preference center"}

    assert demo_preferences.seed_preferences() == {}
    assert ValueAnswer.objects.count() == told["answers"]
