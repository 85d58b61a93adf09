"""What the dashboard looks at: a period, and optionally an owner, an audience or a segment."""

import itertools
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cached_property

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.db import connection
from django.db.models import Q, QuerySet
from django.db.models.expressions import RawSQL
from django.utils import timezone

from customers import queries as customer_queries
from customers.filters import segment_customers
from customers.models import Customer, Segment

# Names of the pages' temporary tables of segment members: unique within a connection.
_temporary_tables = itertools.count(1)


@dataclass(frozen=True)
class Scope:
    """What the dashboard looks at: a period and optional owner, audience and segment filters.

    A segment's customers are no group the tallies keep: its figures are counted live.
    """

    user: AbstractBaseUser
    days: int = 30
    owner: str = ""
    audience: str = ""
    segment: Segment | None = None

    @cached_property
    def now(self) -> datetime:
        return timezone.now()

    @cached_property
    def owner_id(self) -> int | None:
        """The owner filter's user id, looked up once (0 when no such user)."""
        if not self.owner:
            return None
        users = get_user_model().objects.filter(username=self.owner)
        return users.values_list("pk", flat=True).first() or 0

    @cached_property
    def sees_everyone(self) -> bool:
        return customer_queries.sees_everyone(self.user)

    def customer_filter(self) -> Q:
        """The scope on a table with `owner` and `audience` columns (customers, tallies; not
        the tallies when a segment is chosen, see `live`)."""
        q = Q()
        if not self.sees_everyone:
            mine = customer_queries.is_account_manager(self.user)
            q &= Q(owner_id=self.user.pk) if mine else Q(pk__in=[])
        if self.owner:
            q &= Q(owner_id=self.owner_id)
        if self.audience:
            q &= Q(audience=self.audience)
        if self.segment is not None:
            # The segment as its author sees it, within what the viewer sees (above).
            q &= Q(pk__in=self.segment_members)
        return q

    @property
    def segment_members(self) -> QuerySet | RawSQL:
        # Kept for the transaction that holds the table (a frozen dataclass: in its dict).
        transaction = connection.atomic_blocks[0] if connection.in_atomic_block else None
        kept = self.__dict__.get("_members")
        if kept is None or kept[0] is not transaction:
            kept = self.__dict__["_members"] = (transaction, self._segment_members())
        return kept[1]

    def _segment_members(self) -> QuerySet | RawSQL:
        """The segment's customer ids, worked out once for the page where that is possible.

        Every live figure filters on them: as a subquery, each of a dozen queries would work
        out the segment again (at a million customers, tens of thousands of index probes
        each). On PostgreSQL, inside the page's transaction, they are written once to a
        temporary table dropped at its commit; elsewhere (SQLite, no transaction) the
        segment's query is the subquery.
        """
        members = segment_customers(self.segment).order_by().values("pk")
        if connection.vendor != "postgresql" or not connection.in_atomic_block:
            return members
        table = f"dashboard_segment_{next(_temporary_tables)}"
        sql, params = members.query.sql_with_params()
        with connection.cursor() as cursor:
            cursor.execute(f"CREATE TEMPORARY TABLE {table} (id) ON COMMIT DROP AS {sql}", params)
            # Keyed, so a figure that reads customers in an index's order (the most valuable
            # first) probes the members instead of reading them all: 600 ms → 2 ms at 100,000.
            cursor.execute(f"ALTER TABLE {table} ADD PRIMARY KEY (id)")
            # Its size for the planner (a temporary table is never analyzed by autovacuum).
            cursor.execute(f"ANALYZE {table}")
        return RawSQL(f"SELECT {table}.id FROM {table}", ())  # noqa: S608, S611 (our own name, no input)

    def customers(self) -> QuerySet[Customer]:
        return Customer.objects.filter(self.customer_filter(), deleted_at__isnull=True)

    @property
    def live(self) -> bool:
        """Whether every figure is counted from the rows rather than read from the tallies."""
        return self.segment is not None

    @property
    def filtered(self) -> bool:
        return bool(self.owner or self.audience or self.live) or not self.sees_everyone

    @property
    def one_owner(self) -> bool:
        """One owner's customers (a few thousand), not everyone's or an audience's."""
        return bool(self.owner) or not self.sees_everyone

    @cached_property
    def one_owner_id(self) -> int | None:
        """The user id of the one owner in scope (0: nobody), None when it spans owners."""
        if self.sees_everyone:
            return self.owner_id
        if not customer_queries.is_account_manager(self.user):
            return 0
        # An account manager's own customers; filtering by another owner leaves nothing.
        return self.user.pk if not self.owner or self.owner_id == self.user.pk else 0

    @property
    def since(self):
        return self.now - timedelta(days=self.days)
