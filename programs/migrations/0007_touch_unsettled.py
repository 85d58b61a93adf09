from django.db import migrations, models


class Migration(migrations.Migration):
    """Sent touches whose side effects are not written yet. A column with a constant database
    default: PostgreSQL adds it without rewriting the table, and every touch sent before counts
    as settled. The partial index holds only the unsettled ones."""

    dependencies = [("programs", "0006_touch_status_read_by_partial_indexes")]

    operations = [
        migrations.AddField(
            model_name="touch",
            name="unsettled",
            field=models.BooleanField(db_default=False, default=False),
        ),
        migrations.AddIndex(
            model_name="touch",
            index=models.Index(
                condition=models.Q(("unsettled", True)),
                fields=["sent_at"],
                name="touch_unsettled",
            ),
        ),
    ]
