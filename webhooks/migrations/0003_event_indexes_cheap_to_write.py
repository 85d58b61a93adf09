from django.db import migrations, models

# Every sync writes its events in the same transaction, so each index on the outbox is paid by
# the sync: the message id keeps one unique index (not also Django's LIKE-pattern one), and
# created_at, which only the nightly purge and replays filter on, gets a BRIN index on
# PostgreSQL (rows arrive in time order; a BRIN index costs next to nothing per insert).
BRIN = "CREATE INDEX IF NOT EXISTS webhooks_event_created_brin ON webhooks_event USING brin (created_at)"


def create_brin(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(BRIN)


def drop_brin(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("DROP INDEX IF EXISTS webhooks_event_created_brin")


class Migration(migrations.Migration):
    dependencies = [
        ("webhooks", "0002_event_payload_text"),
    ]

    operations = [
        migrations.AlterField(
            model_name="event",
            name="created_at",
            field=models.DateTimeField(),
        ),
        migrations.AlterField(
            model_name="event",
            name="message_id",
            field=models.CharField(max_length=40),
        ),
        migrations.AddConstraint(
            model_name="event",
            constraint=models.UniqueConstraint(
                fields=("message_id",), name="webhooks_event_message_id_unique"
            ),
        ),
        migrations.RunPython(create_brin, drop_brin),
    ]
