"""What enrolling says it did is what the database holds: touches scheduled, skipped (with
why) and held, and the funnel shows why each skipped touch was skipped."""

import re
from collections import Counter

import pytest
from django.test import Client
from rest_framework.test import APIClient

from customers.models import Channel, Customer
from programs.models import Enrollment, Program, Step, Touch

pytestmark = pytest.mark.django_db


@pytest.fixture
def program() -> Program:
    """A welcome by e-mail, a check-in by SMS, a renewal before the contract ends."""
    program = Program.objects.create(name="Numbers")
    common = {
        "channel_mode": Step.ChannelMode.FIXED,
        "email_subject": "Hi",
        "email_body": "Dear {{ customer.first_name }}",
        "sms_body": "Hi there",
    }
    Step.objects.create(program=program, order=1, name="Welcome", channel=Channel.EMAIL, **common)
    Step.objects.create(
        program=program, order=2, name="Check-in", channel=Channel.SMS, offset_days=7, **common
    )
    Step.objects.create(
        program=program,
        order=3,
        name="Renewal",
        channel=Channel.EMAIL,
        anchor=Step.Anchor.CONTRACT_END,
        offset_days=-30,
        **common,
    )
    return program


def five_customers() -> list[Customer]:
    """Three who take e-mail, two who take nothing: five enrolled, none with a contract."""
    return [
        Customer.objects.create(
            first_name=f"N{n}", email=f"n{n}@example.com", consent_email=n < 3, last_name="Numbers"
        )
        for n in range(5)
    ]


def skipped_in_the_database() -> Counter[str]:
    rows = Touch.objects.filter(status=Touch.Status.SKIPPED).values_list("last_error", flat=True)
    return Counter(rows)


def test_the_enroll_message_counts_what_the_database_holds(client, marketer, program):
    five_customers()
    client.force_login(marketer)

    response = client.post(f"/programs/{program.pk}/enroll/?q=Numbers", follow=True)

    text = " ".join(str(message) for message in response.context["messages"])
    scheduled = Touch.objects.filter(status=Touch.Status.SCHEDULED).count()
    assert Enrollment.objects.filter(program=program).count() == 5
    assert (scheduled, skipped_in_the_database()) == (
        3,
        Counter({"No consent on any of the step's channels.": 7}),
    )
    # Every customer's renewal waits for a contract: no touch is made for it yet.
    assert not Touch.objects.filter(step__anchor=Step.Anchor.CONTRACT_END).exists()
    assert text == (
        "5 enrolled. Touches: 3 scheduled; 7 skipped (7 no consent on any of the step's "
        "channels); 5 held (5 wait for a contract to renew)."
    )
    numbers = [int(n) for n in re.findall(r"\d+", text)]
    assert numbers[1] + numbers[2] == Touch.objects.count()


def test_enrolling_again_says_who_was_not_enrolled_and_why(client, marketer, program):
    five_customers()
    client.force_login(marketer)
    client.post(f"/programs/{program.pk}/enroll/?q=Numbers", follow=True)  # shows its message

    response = client.post(f"/programs/{program.pk}/enroll/?q=Numbers", follow=True)

    text = " ".join(str(message) for message in response.context["messages"])
    assert text == "0 enrolled. Touches: 0 scheduled. 5 not enrolled (5 already enrolled)."
    assert Touch.objects.count() == 10


def test_the_funnel_shows_why_touches_were_skipped(client, marketer, program):
    five_customers()
    client.force_login(marketer)
    client.post(f"/programs/{program.pk}/enroll/?q=Numbers")

    response = client.get(f"/programs/{program.pk}/funnel/")

    rows = {row.step.name: row for row in response.context["rows"]}
    assert rows["Welcome"].skip_reasons == [("No consent on any of the step's channels.", 2)]
    assert rows["Check-in"].skip_reasons == [("No consent on any of the step's channels.", 5)]
    assert rows["Renewal"].skip_reasons == []
    assert "2: No consent on any of the step&#x27;s channels." in response.content.decode()


def test_the_api_answer_counts_the_touches_too(marketer, program):
    customers = five_customers()
    client = APIClient()
    client.force_authenticate(marketer)

    response = client.post(
        "/api/v1/enrollments/",
        {"program": program.pk, "customers": [c.pk for c in customers]},
        format="json",
    )

    assert response.status_code == 200
    assert response.json()["touches"] == {
        "scheduled": Touch.objects.filter(status=Touch.Status.SCHEDULED).count(),
        "skipped": dict(skipped_in_the_database()),
        "held": {"wait for a contract to renew": 5},
        "held_out": 0,
    }
    assert response.json()["touches"]["scheduled"] == 3


def test_a_german_marketer_reads_the_report_and_the_funnel_in_german(marketer, program):
    five_customers()
    german = Client(headers={"accept-language": "de"})
    german.force_login(marketer)

    first = german.post(f"/programs/{program.pk}/enroll/?q=Numbers", follow=True)
    again = german.post(f"/programs/{program.pk}/enroll/?q=Numbers", follow=True)
    funnel = german.get(f"/programs/{program.pk}/funnel/").content.decode()

    assert [str(m) for m in first.context["messages"]] == [
        "5 aufgenommen. Sendungen: 3 geplant; 7 übersprungen (7 keine Einwilligung für einen "
        "der Kanäle des Schritts); 5 zurückgehalten (5 warten auf einen Vertrag zur "
        "Verlängerung)."
    ]
    assert "5 nicht aufgenommen (5 bereits aufgenommen)." in str(
        list(again.context["messages"])[-1]
    )
    assert "2: Keine Einwilligung für einen der Kanäle des Schritts." in funnel
    # What is stored stays English: the database is read in any language.
    assert skipped_in_the_database() == Counter({"No consent on any of the step's channels.": 7})


def test_the_api_says_the_reasons_in_the_callers_language(marketer, program):
    customers = five_customers()
    client = APIClient(headers={"accept-language": "es"})
    client.force_authenticate(marketer)
    body = {"program": program.pk, "customers": [c.pk for c in customers[:1]]}

    client.post("/api/v1/enrollments/", body, format="json")
    again = client.post("/api/v1/enrollments/", body, format="json").json()

    assert again["skipped"] == [{"customer": customers[0].pk, "reason": "ya inscrito"}]
