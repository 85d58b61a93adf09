# The ledger's constraints, once the existing rewards are lines of it.

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("customers", "0016_rewards_into_the_ledger")]

    operations = [
        migrations.AddConstraint(
            model_name="reward",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    models.Q(("movement", "earned"), ("value__gte", 0)),
                    models.Q(models.Q(("movement", "earned"), _negated=True), ("value__lte", 0)),
                    _connector="OR",
                ),
                name="reward_sign_follows_movement",
                violation_error_message="Earned lines add; redeemed, expired and reversed take.",
            ),
        ),
        migrations.AddConstraint(
            model_name="reward",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    models.Q(("movement__in", ["expired", "reversed"]), _negated=True),
                    ("applies_to__isnull", False),
                    _connector="OR",
                ),
                name="reward_expiry_names_its_line",
            ),
        ),
        migrations.AddConstraint(
            model_name="reward",
            constraint=models.UniqueConstraint(
                condition=models.Q(("source_key", ""), _negated=True),
                fields=("source_key",),
                name="reward_source_once",
            ),
        ),
    ]
