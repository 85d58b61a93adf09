"""seed_demo fills an empty installation and changes nothing when run again."""

from datetime import timedelta

import phonenumbers
import pytest
from django.contrib.auth.models import User
from django.core.management import CommandError, call_command
from django.utils import timezone

from bonding import demo
from customers import queries
from customers.models import (
    Complaint,
    ConsentChange,
    Contract,
    Customer,
    FollowUp,
    Interaction,
    Purchase,
    Referral,
    Reward,
    TierChange,
    TimelineEntry,
)

# Enough for every kind of demo customer, and quick to seed; the real demo has 300.
FEW = 60
COUNTED = (
    Customer, Purchase, Interaction, Complaint, Contract, Referral, Reward, FollowUp,
    ConsentChange, TierChange, TimelineEntry,
)  # fmt: skip


def snapshot() -> list[tuple]:
    return list(
        User.objects.order_by("username").values_list(
            "username", "password", "is_staff", "groups__name"
        )
    )


def customer_snapshot() -> tuple:
    counts = {model.__name__: model.objects.count() for model in COUNTED}
    rows = list(
        Customer.objects.order_by("external_id").values_list(
            "external_id", "tier__slug", "bond_stage", "churn_risk", "lifetime_value", "updated_at"
        )
    )
    return counts, rows


@pytest.mark.django_db
def test_it_creates_an_admin_a_marketer_and_account_managers(settings, capsys):
    settings.DEBUG = True

    call_command("seed_demo", customers=FEW)

    out = capsys.readouterr().out
    assert User.objects.get(username="admin").is_superuser
    assert User.objects.get(username="marketer").groups.filter(name="Marketers").exists()
    assert User.objects.get(username="manager").groups.filter(name="Account managers").exists()
    assert "bonding-marketer" in out  # the printed sign-in works
    assert User.objects.get(username="marketer").check_password("bonding-marketer")
    assert f"Demo customers: {FEW} created" in out


@pytest.mark.django_db
def test_running_it_twice_changes_nothing_the_second_time(settings, capsys):
    settings.DEBUG = True
    call_command("seed_demo", customers=FEW)
    before = snapshot(), customer_snapshot()

    call_command("seed_demo", customers=FEW)

    assert (snapshot(), customer_snapshot()) == before
    assert "Demo customers: already there" in capsys.readouterr().out


@pytest.mark.django_db
def test_it_refuses_to_run_with_debug_off(settings):
    settings.DEBUG = False

    with pytest.raises(CommandError, match="DEBUG off"):
        call_command("seed_demo")

    assert not User.objects.exists()
    assert not Customer.objects.exists()


@pytest.mark.slow
@pytest.mark.django_db
def test_the_demo_gives_every_page_something_true_to_show(settings):
    settings.DEBUG = True

    call_command("seed_demo")

    today = timezone.localdate()
    customers = Customer.objects.filter(external_id__startswith="demo-")
    assert customers.count() == 300
    assert customers.order_by().values("tier").distinct().count() >= 5
    assert customers.order_by().values("bond_stage").distinct().count() >= 4
    assert customers.order_by().values("relationship").distinct().count() == 4
    assert (
        customers.filter(account__isnull=False).order_by().values("account").distinct().count() >= 5
    )
    assert not customers.filter(value_refreshed_at__isnull=True).exists()
    for customer in customers.exclude(phone=""):
        assert phonenumbers.is_valid_number(phonenumbers.parse(customer.phone)), customer.phone
    # Histories over two years, with the tier moves dated when they happened.
    assert Purchase.objects.filter(purchased_on__lt=today - timedelta(days=600)).exists()
    assert TierChange.objects.dates("changed_at", "month").count() >= 12
    assert TimelineEntry.objects.filter(kind="purchase").count() == Purchase.objects.count()
    assert set(Interaction.objects.values_list("channel", flat=True)) == set(Interaction.Kind)
    assert Interaction.objects.order_by().values("direction", "sentiment").distinct().count() == 6
    assert Complaint.objects.filter(status="open").count() >= 3
    assert (
        Complaint.objects.filter(status="resolved").count()
        > Complaint.objects.filter(status="open").count()
    )
    assert Contract.objects.filter(ends_on__range=(today, today + timedelta(days=90))).exists()
    assert Referral.objects.filter(status="converted", referred_customer__isnull=False).exists()
    assert Reward.objects.exists()
    # Each account manager has customers and a day's work; a few customers have no owner.
    for username in ("manager", "manager2"):
        user = User.objects.get(username=username)
        assert queries.visible_customers(user).count() >= 100
        day = queries.my_day(user)
        assert day.due and day.upcoming and day.at_risk
    assert customers.filter(owner__isnull=True).exists()


@pytest.mark.django_db
def test_it_seeds_customers_before_anyone_can_own_them():
    created = demo.seed_customers(count=20)

    assert created == 20
    assert not Customer.objects.filter(owner__isnull=False).exists()
    assert demo.seed_customers(count=20) == 0
