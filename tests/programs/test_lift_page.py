"""The program's Lift page and its CSV."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from customers.models import Purchase
from programs.enrollment import enroll
from programs.models import Enrollment, Program
from tests.factories import CustomerFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def program() -> Program:
    program = Program.objects.get(is_prototype=True)
    program.holdout_share = 50
    program.save()
    return program


@pytest.fixture
def signed_in(client, marketer):
    client.force_login(marketer)
    return client


def enrolled(program, n):
    people = CustomerFactory.create_batch(n, consent_email=True)
    enroll(program=program, customers=people, now=timezone.now() - timedelta(days=120))
    treated = Enrollment.objects.filter(group="treated").values_list("customer_id", flat=True)
    on = timezone.localdate() - timedelta(days=100)
    Purchase.objects.bulk_create(
        Purchase(customer_id=pk, amount=Decimal("80.00"), purchased_on=on) for pk in treated
    )


@pytest.mark.parametrize("size", [6, 40])
def test_the_lift_page_shows_each_outcome_in_a_fixed_number_of_queries(
    signed_in, program, size, django_assert_num_queries
):
    enrolled(program, size)

    # Session, user and roles, the program, no tally yet, then three for the figures.
    with django_assert_num_queries(8):
        response = signed_in.get(f"/programs/{program.pk}/lift/?window=90")

    page = response.content.decode()
    assert response.status_code == 200
    assert "Purchase rate" in page and "Spend per customer" in page
    assert "no survey both groups could answer" in page
    assert 'aria-label="Purchase rate: difference' in page or "collecting" in page


def test_the_lift_csv_has_a_line_per_outcome(signed_in, program):
    enrolled(program, 10)

    response = signed_in.get(f"/programs/{program.pk}/lift.csv?window=60")

    lines = response.content.decode("utf-8-sig").strip().splitlines()
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert lines[0].startswith("metric,window_days,treated_customers,control_customers")
    assert [line.split(",")[0] for line in lines[1:]] == [
        "purchase_rate",
        "spend_per_customer",
        "promoted_rate",
        "churn_rate",
        "referral_rate",
        "nps",
    ]


@pytest.mark.parametrize("window", ["0", "x", "9999", "-5"])
def test_a_bad_window_is_a_400_on_the_page_and_the_csv(signed_in, program, window):
    page = signed_in.get(f"/programs/{program.pk}/lift/?window={window}")
    csv = signed_in.get(f"/programs/{program.pk}/lift.csv?window={window}")

    assert (page.status_code, csv.status_code) == (400, 400)
