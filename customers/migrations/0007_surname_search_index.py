from django.db import migrations

# A search lists first the customers whose surname begins with a search word, in name order.
# This index serves that order and a surname's prefix as one range (byte order, so a prefix is
# exactly a range), so the first page is read from ~50 index entries however common the name.
# customers.filters.name_keys() builds the same expressions (0008 adds the same for first names). PostgreSQL only: on SQLite the
# same queries run without it.
SQL = (
    "CREATE INDEX IF NOT EXISTS customer_surname_search ON customers_customer "
    '((UPPER("last_name"::text) COLLATE "C"), (UPPER("first_name"::text) COLLATE "C"), id) '
    "WHERE deleted_at IS NULL"
)


def create_index(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(SQL)
        # Statistics of the indexed expressions, so the planner sees how common a surname is.
        schema_editor.execute("ANALYZE customers_customer")


def drop_index(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("DROP INDEX IF EXISTS customer_surname_search")


class Migration(migrations.Migration):
    dependencies = [("customers", "0006_imports")]

    operations = [migrations.RunPython(create_index, drop_index)]
