from django.db import migrations

# One owner's customers (a few thousand, scattered over the tables) are counted from these
# indexes alone on PostgreSQL: their answers with the score, their invitations with the id.
# Same names and keys as the models declare; SQLite has no INCLUDE and keeps the plain ones.
COVERING = {
    "response_customer_at": (
        "nps_response (customer_id, answered_at DESC) INCLUDE (score)",
        "nps_response (customer_id, answered_at DESC)",
    ),
    "invitation_customer_at": (
        "nps_invitation (customer_id, sent_at DESC) INCLUDE (id)",
        "nps_invitation (customer_id, sent_at DESC)",
    ),
}


def rebuild(schema_editor, which: int) -> None:
    if schema_editor.connection.vendor != "postgresql":
        return
    for name, definitions in COVERING.items():
        schema_editor.execute(f"DROP INDEX IF EXISTS {name}")
        schema_editor.execute(f"CREATE INDEX {name} ON {definitions[which]}")


class Migration(migrations.Migration):
    """Covering indexes for one owner's NPS figures (PostgreSQL only)."""

    dependencies = [
        ("nps", "0009_audience_in_tallies"),
    ]

    operations = [
        migrations.RunPython(
            lambda apps, schema_editor: rebuild(schema_editor, 0),
            lambda apps, schema_editor: rebuild(schema_editor, 1),
        )
    ]
