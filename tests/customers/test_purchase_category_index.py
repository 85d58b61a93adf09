"""The purchases' category index: "bought / never bought a category" is answered by the index
on (customer, UPPER(category)), on both databases, and the migration that brought it builds it
without rewriting the purchases table."""

import re

import pytest
from django.db import connection, transaction
from django.db.migrations.executor import MigrationExecutor

from customers import segments
from customers.filters import segment_customers
from tests.factories import CustomerFactory, PurchaseFactory

INDEX = "purchase_customer_upper_cat"
MIGRATION = ("customers", "0031_purchase_category_expression_index")


def plan_of(queryset) -> str:
    """The plan the database makes for the queryset, with sequential scans priced out and the
    purchases' other customer indexes hidden: on a few rows any of them serves the probe as
    cheaply (which one the planner picks depends on the statistics of the moment), and the
    question is whether ours can answer the filter."""
    sql, params = queryset.query.sql_with_params()
    with transaction.atomic(), connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SET LOCAL enable_seqscan = off")
            cursor.execute("SET LOCAL enable_bitmapscan = off")
            cursor.execute(
                "SELECT indexname FROM pg_indexes WHERE tablename = 'customers_purchase'"
                " AND indexname <> %s AND indexdef LIKE '%%(customer_id%%'"
                " AND indexdef NOT LIKE 'CREATE UNIQUE%%'",
                [INDEX],
            )
            for (other,) in cursor.fetchall():
                cursor.execute(f'DROP INDEX "{other}"')  # undone with the savepoint below
            cursor.execute("EXPLAIN " + sql, params)
        else:
            cursor.execute("EXPLAIN QUERY PLAN " + sql, params)
        plan = "\n".join(" ".join(str(part) for part in row) for row in cursor.fetchall())
        transaction.set_rollback(True)
    return plan


@pytest.mark.django_db
@pytest.mark.parametrize("filter_name", ["bought", "not_bought"])
def test_a_category_is_looked_up_by_the_index_expression(marketer, filter_name):
    shoes, boots, none = CustomerFactory(), CustomerFactory(), CustomerFactory()
    PurchaseFactory(customer=shoes, product_category="Shoes")
    PurchaseFactory(customer=boots, product_category="Boots")
    segment = segments.save_segment(owner=marketer, name="s", query=f"{filter_name}= shoes ")

    found = set(segment_customers(segment).values_list("pk", flat=True))
    plan = plan_of(segment_customers(segment))

    # Case-insensitively, as before.
    assert found == ({shoes.pk} if filter_name == "bought" else {boots.pk, none.pk})
    # Probed by both the customer and the upper-cased category: the index's own expression.
    assert INDEX in plan, plan
    if connection.vendor == "postgresql":
        # The database upper-cases the value once: UPPER('shoes') is the constant 'SHOES'.
        assert re.search(r"Index Cond: .*upper\(\(product_category\)::text\)\) = 'SHOES'", plan)
    else:
        assert f"{INDEX} (customer_id=? AND <expr>=?)" in plan, plan


@pytest.mark.django_db
def test_the_index_carries_the_category_so_postgresql_reads_no_table_row():
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SELECT indexdef FROM pg_indexes WHERE indexname = %s", [INDEX])
            (definition,) = cursor.fetchone()
            assert definition.endswith(
                "(customer_id, upper((product_category)::text)) INCLUDE (product_category)"
            ), definition
        else:
            # SQLite has no INCLUDE columns: the same expression, without the carried category.
            cursor.execute("SELECT sql FROM sqlite_master WHERE name = %s", [INDEX])
            (definition,) = cursor.fetchone()
            assert re.search(r'\("customer_id", \(UPPER\("product_category"\)\)\)', definition), (
                definition
            )


# The migration's SQL is collected outside a transaction, as `migrate` runs it (PostgreSQL
# builds an index CONCURRENTLY only there).
@pytest.mark.django_db(transaction=True)
def test_the_migration_builds_the_index_without_rewriting_purchases():
    executor = MigrationExecutor(connection)
    migration = executor.loader.graph.nodes[MIGRATION]

    statements = executor.loader.collect_sql([(migration, False)])
    sql = "\n".join(statements)
    with connection.cursor() as cursor:
        columns = [
            column.name
            for column in connection.introspection.get_table_description(
                cursor, "customers_purchase"
            )
        ]

    # Build the new index, drop the old one, then the column: dropping a column only marks
    # it dropped; adding or changing one (a stored generated column) rewrites the table.
    creates = [s for s in statements if s.startswith("CREATE INDEX")]
    assert len(creates) == 1 and INDEX in creates[0]
    assert sql.index("CREATE INDEX") < sql.index("DROP INDEX") < sql.index("DROP COLUMN")
    assert "ADD COLUMN" not in sql and "ALTER COLUMN" not in sql
    if connection.vendor == "postgresql":
        assert creates[0].startswith("CREATE INDEX CONCURRENTLY")
        assert "DROP INDEX CONCURRENTLY" in sql
    assert "category_key" not in columns and "product_category" in columns
