from django.db import migrations, models

# The detractors waiting for a call, soonest due first, read from the open follow-ups the NPS
# loop made (their source is "detractor:<response id>"), without sorting every open one.
FOLLOW_UP_INDEX = (
    "CREATE INDEX IF NOT EXISTS followup_open_detractor_due ON customers_followup (due_at, id)"
    " WHERE done_at IS NULL AND source LIKE 'detractor:%'"
)


class Migration(migrations.Migration):
    """Newest answers first without sorting ties; open detractor follow-ups by due time."""

    dependencies = [
        ("customers", "0002_records"),
        ("nps", "0006_verbatim_search"),
    ]

    operations = [
        migrations.RemoveIndex(
            model_name="response",
            name="response_answered_at",
        ),
        migrations.AddIndex(
            model_name="response",
            index=models.Index(fields=["answered_at", "id"], name="response_answered_at_id"),
        ),
        migrations.RunSQL(FOLLOW_UP_INDEX, "DROP INDEX IF EXISTS followup_open_detractor_due"),
    ]
