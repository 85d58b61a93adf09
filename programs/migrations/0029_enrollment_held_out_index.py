from django.db import migrations, models

from customers.migration_operations import AddIndexWithoutLock


class Migration(migrations.Migration):
    # CONCURRENTLY on PostgreSQL: enrollments keep being written while it is built.
    atomic = False

    dependencies = [
        ("programs", "0028_provider_event_raw_reply"),
    ]

    operations = [
        AddIndexWithoutLock(
            model_name="enrollment",
            index=models.Index(
                condition=models.Q(("group__in", ["holdout", "global_control"])),
                fields=["group", "program"],
                name="enrollment_held_out",
            ),
        ),
    ]
