# The data step of the reward ledger, in its own migration: on PostgreSQL the previous one's
# deferred index creation cannot follow row updates in the same transaction.

from datetime import timedelta

from django.conf import settings
from django.db import migrations
from django.utils import timezone


def rewards_into_the_ledger(apps, schema_editor):
    """Every reward typed by hand becomes an earned line in money (what its value was); a
    negative one a redemption. Nothing lapses on the day this runs: old lines expire the
    configured time from now, not from when they were given."""
    Reward = apps.get_model("customers", "Reward")
    expires_at = timezone.now() + timedelta(days=settings.REWARD_EXPIRY_DAYS)
    Reward.objects.update(unit="money", movement="earned", cause="manual")
    Reward.objects.filter(kind="premium").update(cause="premium")
    Reward.objects.filter(value__gt=0).update(expires_at=expires_at)
    Reward.objects.filter(value=0).update(expiry_settled=True)
    Reward.objects.filter(value__lt=0).update(movement="redeemed", expiry_settled=True)


class Migration(migrations.Migration):
    dependencies = [("customers", "0015_reward_ledger")]

    operations = [migrations.RunPython(rewards_into_the_ledger, migrations.RunPython.noop)]
