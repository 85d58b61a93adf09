from django.db import migrations

# Trigram indexes make the verbatims' word search fast on PostgreSQL; Django's icontains
# compares UPPER(column::text), so the indexes are built on that same expression.
SEARCH_INDEXES = {
    "response_why_trgm": ("nps_response", "why"),
    "response_improve_trgm": ("nps_response", "improve"),
}


def create_search_indexes(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    for name, (table, column) in SEARCH_INDEXES.items():
        schema_editor.execute(
            f'CREATE INDEX IF NOT EXISTS {name} ON {table} USING gin (UPPER("{column}"::text) gin_trgm_ops)'
        )


def drop_search_indexes(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for name in SEARCH_INDEXES:
        schema_editor.execute(f"DROP INDEX IF EXISTS {name}")


class Migration(migrations.Migration):
    """The verbatims' search on trigram indexes (PostgreSQL only)."""

    dependencies = [("nps", "0005_count_tallies")]

    operations = [migrations.RunPython(create_search_indexes, drop_search_indexes)]
