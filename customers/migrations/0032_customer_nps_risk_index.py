"""An index of live customers by latest NPS answer (and churn risk), built without locking
the customers table on PostgreSQL (CONCURRENTLY, so the migration is not atomic)."""

from django.db import migrations, models

from customers.migration_operations import AddIndexWithoutLock


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("customers", "0031_purchase_category_expression_index"),
    ]

    operations = [
        AddIndexWithoutLock(
            model_name="customer",
            index=models.Index(
                condition=models.Q(("deleted_at__isnull", True), ("nps_latest__isnull", False)),
                fields=["nps_latest", "-churn_risk", "id"],
                name="customer_nps_risk",
            ),
        ),
    ]
