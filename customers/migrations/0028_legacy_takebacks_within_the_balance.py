"""A reward typed by hand with a negative value became a redemption (0016) even when it took
more than the customer had, so a balance could start below zero. Each such redemption now
takes at most what the customer's lines held at that point, in the order they were written;
its reason says what was asked. Redemptions written by the ledger never exceed the balance,
so only those legacy lines change. Safe to run again."""

from decimal import Decimal

from django.db import migrations
from django.db.models import Q


def keep_balances_at_or_above_zero(apps, schema_editor):
    Reward = apps.get_model("customers", "Reward")
    pairs = (
        Reward.objects.filter(movement="redeemed", value__lt=0)
        .values_list("customer_id", "unit")
        .distinct()
        .order_by("customer_id", "unit")
    )
    for customer_id, unit in pairs.iterator():
        _clamp(Reward, customer_id, unit)


def _clamp(Reward, customer_id: int, unit: str) -> None:
    held = Decimal(0)
    lines = Reward.objects.filter(Q(customer_id=customer_id) & Q(unit=unit)).order_by(
        "given_at", "id"
    )
    for line in lines.only("id", "movement", "value", "reason"):
        if line.movement == "redeemed" and held + line.value < 0:
            taken = max(held, Decimal(0))
            reason = f"{line.reason} (asked {-line.value}, {taken} held)"[:200]
            Reward.objects.filter(pk=line.pk).update(value=-taken, reason=reason)
            held -= taken
        else:
            held += line.value


class Migration(migrations.Migration):
    dependencies = [("customers", "0027_goodwill_limit_of_the_organization")]

    operations = [migrations.RunPython(keep_balances_at_or_above_zero, migrations.RunPython.noop)]
