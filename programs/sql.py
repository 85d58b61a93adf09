"""The hand-tuned SQL of programs, in one place: the delivery loop's prepared statements
(the claim to send, recording a sent touch) with their planner hints, and `= ANY(array)`."""

import itertools
import re
import weakref
from typing import Any

from django.db import connection
from django.db.models import F, Lookup, Q

from customers.models import Channel


class AnyOf(Lookup):
    """`column = ANY(array)`: one parameter for thousands of ids."""

    lookup_name = "any_of"
    prepare_rhs = False

    def get_prep_lookup(self):
        return self.rhs

    def as_sql(self, compiler, connection):
        lhs, lhs_params = self.process_lhs(compiler, connection)
        return f"{lhs} = ANY(%s)", [*lhs_params, list(self.rhs)]


def of_customers(ids: list[int]) -> Q | Lookup:
    """Rows of these customers. On PostgreSQL as one array: the ORM prepares each value of an
    IN list one by one, which took a tenth of a second for each batch of enrollments."""
    if connection.vendor == "postgresql":
        return AnyOf(F("customer_id"), ids)
    return Q(customer_id__in=ids)


# The claim of one touch for sending, per channel (each has its own consent column). The
# status is compared as `status || ''` so that the planner looks the row up by its id: with
# statistics from before a burst (no claimed touches yet), it would otherwise walk an index
# of every claimed touch for each one. tests/programs/test_claim_plan.py pins that plan.
#
# It also checks that the address the message was rendered for is still the customer's, and
# counts the customer's sends within the cap's period afresh (another worker may have sent
# one since the batch was read); the touch sent just before by this worker is still in
# sending in the statement's snapshot, so sending ones count whatever their time.
ADDRESS_COLUMNS: dict[str, str] = {
    Channel.EMAIL: "email",
    Channel.SMS: "phone",
    Channel.LETTER: "postal_address",
}


CLAIM_TO_SEND = {
    # Column names come from the fixed list of channels, never from input.
    channel: (
        "UPDATE programs_touch SET status = %s, lease_expires_at = %s,"  # noqa: S608
        " attempts = attempts + 1 WHERE id = %s AND status || '' = %s"
        " AND EXISTS (SELECT 1 FROM customers_customer c WHERE c.id = %s"
        f" AND c.consent_{channel} AND c.deleted_at IS NULL"
        + (f" AND c.{ADDRESS_COLUMNS[channel]} = %s" if channel in ADDRESS_COLUMNS else "")
        # An address the provider reported dead since the batch was read (placement.py).
        + (" AND c.email_suspended_reason = '')" if channel == Channel.EMAIL else ")")
        + " AND EXISTS (SELECT 1 FROM programs_enrollment e WHERE e.id = %s AND e.status = %s)"
        " AND (SELECT count(*) FROM programs_touch t WHERE t.customer_id = %s AND t.id <> %s"
        " AND t.status IN ('sent', 'delivered', 'waiting', 'sending')"
        " AND (t.sent_at > %s OR t.status = 'sending')) < %s"
    )
    for channel in Channel.values
}


# The claim of several touches of different customers at once (PostgreSQL; the pool of
# programs/delivery_pool.py): the same checks as CLAIM_TO_SEND, each row's values (touch,
# customer, address, enrollment, the start of its cap's period, its cap) as arrays; returns the
# ids claimed. Touches of one customer are never claimed in one statement: they would not see
# each other in the cap's count.
CLAIM_MANY_TO_SEND = {
    channel: (
        "UPDATE programs_touch t SET status = %s, lease_expires_at = %s,"  # noqa: S608
        " attempts = t.attempts + 1"
        " FROM unnest(%s::bigint[], %s::bigint[], %s::text[], %s::bigint[],"
        " %s::timestamptz[], %s::int[])"
        " AS v(id, customer_id, address, enrollment_id, since, cap)"
        " WHERE t.id = v.id AND t.status || '' = %s"
        " AND EXISTS (SELECT 1 FROM customers_customer c WHERE c.id = v.customer_id"
        f" AND c.consent_{channel} AND c.deleted_at IS NULL"
        + (f" AND c.{ADDRESS_COLUMNS[channel]} = v.address" if channel in ADDRESS_COLUMNS else "")
        + (" AND c.email_suspended_reason = ''" if channel == Channel.EMAIL else "")
        # OFFSET 0 keeps each EXISTS a lookup by primary key per row: made a join, the planner
        # (with a burst's stale statistics) walked a whole index of customers for every row.
        + " OFFSET 0)"
        # `|| ''` as above: the row by its id, not a walk over the index of active enrollments.
        " AND EXISTS (SELECT 1 FROM programs_enrollment e WHERE e.id = v.enrollment_id"
        " AND e.status || '' = %s OFFSET 0)"
        " AND (SELECT count(*) FROM programs_touch o WHERE o.customer_id = v.customer_id"
        " AND o.id <> v.id AND o.status IN ('sent', 'delivered', 'waiting', 'sending')"
        " AND (o.sent_at > v.since OR o.status = 'sending')) < v.cap"
        " RETURNING t.id"
    )
    for channel in Channel.values
}


# Sent and unsettled until the batch writes what it leaves behind (see Touch.unsettled).
RECORD_SENT = (
    "UPDATE programs_touch SET status = %s, lease_expires_at = NULL, sent_at = %s,"
    " message_id = %s, unsettled = true WHERE id = %s AND status || '' = %s"
)


# The same for the touches a batch handed over on several connections at once (PostgreSQL:
# their ids, times and message ids as three arrays).
RECORD_SENT_MANY = (
    "UPDATE programs_touch t SET status = %s, lease_expires_at = NULL, sent_at = v.sent_at,"
    " message_id = v.message_id, unsettled = true"
    " FROM unnest(%s::bigint[], %s::timestamptz[], %s::text[]) AS v(id, sent_at, message_id)"
    " WHERE t.id = v.id AND t.status || '' = %s"
)


# Statements of the delivery loop prepared on each PostgreSQL connection: {connection: {sql:
# name}}. Weak keys: a closed connection takes its statements with it.
_PREPARED: "weakref.WeakKeyDictionary[Any, dict[str, str]]" = weakref.WeakKeyDictionary()


def run(sql: str, params: list, *, returning: bool = False) -> Any:
    """Run one of the delivery loop's statements; returns how many rows it changed (or, with
    `returning`, the rows it returned).

    On PostgreSQL each is prepared once per connection: planning these small updates (on a
    table with many indexes) took longer than running them. Prepared statements live in the
    server session, so this needs a session of its own per connection: not a pooler in
    transaction mode (PgBouncer's), which hands each transaction any server session.
    """
    with connection.cursor() as cursor:
        if connection.vendor != "postgresql":
            cursor.execute(sql, params)
            return cursor.fetchall() if returning else cursor.rowcount
        names = _PREPARED.setdefault(connection.connection, {})
        name = names.get(sql)
        if name is None:
            name = f"programs_delivery_{len(names)}"
            numbers = itertools.count(1)
            cursor.execute(f"PREPARE {name} AS " + re.sub("%s", lambda _: f"${next(numbers)}", sql))
            names[sql] = name
        cursor.execute(f"EXECUTE {name}({', '.join(['%s'] * len(params))})", params)
        return cursor.fetchall() if returning else cursor.rowcount
