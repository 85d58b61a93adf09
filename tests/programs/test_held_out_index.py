"""The index of enrollments held out of a program or of every program: whether anyone is in a
control group is one probe of it on PostgreSQL, however many customers are treated. (SQLite
proves no `=` against a partial index's IN list; the embedded default holds few enrollments.)"""

import pytest
from django.db import connection, transaction
from django.db.models import Exists, OuterRef

from programs.models import Enrollment, Program

INDEX = "enrollment_held_out"

pytestmark = pytest.mark.django_db


def plan_of(queryset) -> str:
    """The database's plan, with sequential scans priced out (a few test rows would be read
    whole): the question is whether the index can answer the probe."""
    sql, params = queryset.query.sql_with_params()
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("EXPLAIN " + sql, params)
        plan = "\n".join(" ".join(str(part) for part in row) for row in cursor.fetchall())
        transaction.set_rollback(True)
    return plan


@pytest.mark.postgres("SQLite cannot use a partial index whose condition is an IN list")
def test_a_programs_holdout_is_probed_by_the_index():
    holding_out = Program.objects.filter(
        Exists(Enrollment.objects.filter(program=OuterRef("pk"), group="holdout"))
    )

    assert INDEX in plan_of(holding_out.values("pk"))


@pytest.mark.postgres("SQLite cannot use a partial index whose condition is an IN list")
def test_the_global_control_group_is_probed_by_the_index():
    anyone = Enrollment.objects.filter(group="global_control").values("pk")[:1]

    assert INDEX in plan_of(anyone)


def test_the_index_holds_only_the_held_out():
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SELECT indexdef FROM pg_indexes WHERE indexname = %s", [INDEX])
        else:
            cursor.execute("SELECT sql FROM sqlite_master WHERE name = %s", [INDEX])
        (definition,) = cursor.fetchone()

    assert "holdout" in definition and "global_control" in definition
    assert "treated" not in definition
