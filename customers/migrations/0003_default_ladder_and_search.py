from django.db import migrations

DEFAULT_LADDER = [
    (0, "Prospect", "prospect", "Known to us, has not bought yet.", "#94a3b8"),
    (1, "First-time customer", "first-time", "Bought once, or not for a year.", "#60a5fa"),
    (2, "Repeat customer", "repeat", "Buys again: two or more purchases in 12 months.", "#34d399"),
    (3, "Client", "client", "A contract, or buys often and much.", "#fbbf24"),
    (4, "Advocate", "advocate", "Recommends us: a promoter or a converted referral.", "#f97316"),
    (5, "Raving fan", "raving-fan", "Brings others in and loves us for it.", "#db2777"),
]

# Trigram indexes make the customer list's substring search fast on PostgreSQL; Django's
# icontains compares UPPER(column::text), so the indexes are built on that same expression.
SEARCH_INDEXES = {
    "customer_first_name_trgm": ("customers_customer", "first_name"),
    "customer_last_name_trgm": ("customers_customer", "last_name"),
    "customer_email_trgm": ("customers_customer", "email"),
    "customer_phone_trgm": ("customers_customer", "phone"),
    "account_name_trgm": ("customers_account", "name"),
}


def create_ladder(apps, schema_editor):
    Tier = apps.get_model("customers", "Tier")
    for rank, name, slug, description, colour in DEFAULT_LADDER:
        Tier.objects.get_or_create(
            slug=slug, defaults={"rank": rank, "name": name, "description": description, "colour": colour}
        )


def remove_ladder(apps, schema_editor):
    apps.get_model("customers", "Tier").objects.filter(slug__in=[t[2] for t in DEFAULT_LADDER]).delete()


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
    dependencies = [("customers", "0002_records")]

    operations = [
        migrations.RunPython(create_ladder, remove_ladder),
        migrations.RunPython(create_search_indexes, drop_search_indexes),
    ]
