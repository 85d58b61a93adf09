from django.db import migrations, models


def analyze(apps, schema_editor):
    # The planner needs statistics on UPPER(why) and UPPER(improve), which only exist once the
    # trigram indexes on them are analysed: without, it guesses a word's share of the answers
    # and may scan them all for a word nobody wrote.
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("ANALYZE nps_response")


class Migration(migrations.Migration):
    """Answers of one category newest first without sorting ties; statistics for the search."""

    dependencies = [
        ("nps", "0007_answered_at_id_index"),
    ]

    operations = [
        migrations.RemoveIndex(
            model_name="response",
            name="response_category_at",
        ),
        migrations.AddIndex(
            model_name="response",
            index=models.Index(
                fields=["category", "-answered_at", "-id"], name="response_category_at_id"
            ),
        ),
        migrations.RunPython(analyze, migrations.RunPython.noop),
    ]
