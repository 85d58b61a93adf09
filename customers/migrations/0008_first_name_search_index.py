from django.db import migrations

# A one-word search lists, after the surnames beginning with the word, the first names that
# do (customers.filters.CustomerFilter.best_match_groups): "Emma" reads its first page from
# ~50 entries of this index instead of sorting 10,000 Emmas. PostgreSQL only, like 0007.
SQL = (
    "CREATE INDEX IF NOT EXISTS customer_first_name_search ON customers_customer "
    '((UPPER("first_name"::text) COLLATE "C"), (UPPER("last_name"::text) COLLATE "C"), id) '
    "WHERE deleted_at IS NULL"
)


def create_index(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(SQL)
        schema_editor.execute("ANALYZE customers_customer")


def drop_index(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("DROP INDEX IF EXISTS customer_first_name_search")


class Migration(migrations.Migration):
    dependencies = [("customers", "0007_surname_search_index")]

    operations = [migrations.RunPython(create_index, drop_index)]
