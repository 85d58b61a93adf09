from django.db import migrations

# An account manager's own NPS counts their current customers' answers and invitations: read
# from these indexes alone on PostgreSQL (with the audience a widget may filter by, and the ids
# the counts count). Same names and keys as the models declare; SQLite keeps the plain ones.
COVERING = {
    "response_customer_at": (
        "nps_response (customer_id, answered_at DESC) INCLUDE (score, audience, id)",
        "nps_response (customer_id, answered_at DESC) INCLUDE (score)",
    ),
    "invitation_customer_at": (
        "nps_invitation (customer_id, sent_at DESC) INCLUDE (id, audience)",
        "nps_invitation (customer_id, sent_at DESC) INCLUDE (id)",
    ),
}


def rebuild(schema_editor, which: int) -> None:
    if schema_editor.connection.vendor != "postgresql":
        return
    for name, definitions in COVERING.items():
        schema_editor.execute(f"DROP INDEX IF EXISTS {name}")
        schema_editor.execute(f"CREATE INDEX {name} ON {definitions[which]}")


class Migration(migrations.Migration):
    """The customer indexes of answers and invitations cover one account manager's counts."""

    dependencies = [
        ("nps", "0011_invitation_owner"),
    ]

    operations = [
        migrations.RunPython(
            lambda apps, schema_editor: rebuild(schema_editor, 0),
            lambda apps, schema_editor: rebuild(schema_editor, 1),
        )
    ]
