"""Replace the stored upper-cased category of purchases (0023) by an expression index.

Adding a STORED generated column rewrites the whole purchases table under an exclusive lock;
an index on (customer, UPPER(product_category)) answers "bought a category" as well and, on
PostgreSQL, is built CONCURRENTLY while purchases keep being written. The new index is built
before the old one goes, so the segments stay fast throughout. Dropping the column only marks
it dropped in PostgreSQL's catalogue (no rewrite).
"""

import django.db.models.functions.text
from django.db import migrations, models

from customers.migration_operations import AddIndexWithoutLock, RemoveIndexWithoutLock


def analyze_purchases(apps, schema_editor):
    # The planner's statistics of the new index's expression come from ANALYZE (which samples
    # the table and does not block writes); autovacuum would only get to it later.
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("ANALYZE customers_purchase")


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("customers", "0030_texts_said_in_the_readers_language"),
    ]

    operations = [
        AddIndexWithoutLock(
            model_name="purchase",
            index=models.Index(
                models.F("customer"),
                django.db.models.functions.text.Upper("product_category"),
                include=("product_category",),
                name="purchase_customer_upper_cat",
            ),
        ),
        RemoveIndexWithoutLock(
            model_name="purchase",
            name="purchase_customer_category",
        ),
        migrations.RemoveField(
            model_name="purchase",
            name="category_key",
        ),
        migrations.RunPython(analyze_purchases, migrations.RunPython.noop, elidable=True),
    ]
