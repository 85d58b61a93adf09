"""Cursor pages for the API: keyset pagination that never counts the table.

A cursor names the last row seen by its sort value and id; the next page is the rows after
it in (value, id) order. Rows inserted or changed while a client pages never make it see a
row twice or skip one that did not move, and a page costs one indexed range scan however deep.
"""

import base64
import binascii
import json
from datetime import datetime
from decimal import Decimal
from urllib.parse import urlencode

from django.db.models import F, OrderBy, Q, QuerySet
from django.db.models.functions import Coalesce
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext
from rest_framework import exceptions
from rest_framework.pagination import BasePagination
from rest_framework.response import Response


def _encode(payload: dict) -> str:
    return base64.urlsafe_b64encode(json.dumps(payload).encode()).decode().rstrip("=")


def _decode(token: str) -> dict:
    try:
        padded = token + "=" * (-len(token) % 4)
        payload = json.loads(base64.urlsafe_b64decode(padded.encode()))
    except (ValueError, binascii.Error) as error:
        raise exceptions.NotFound(gettext("Invalid cursor.")) from error
    if not isinstance(payload, dict) or not isinstance(payload.get("id"), int):
        raise exceptions.NotFound(gettext("Invalid cursor."))
    return payload


def moment(value: str) -> datetime | None:
    """A cursor's date-time, or None when it is not one."""
    return parse_datetime(value) if isinstance(value, str) else None


def amount(value: str) -> Decimal | None:
    """A cursor's decimal, or None when it is not one."""
    return Decimal(value) if isinstance(value, str) else None


def whole(value) -> int | None:
    """A cursor's integer, or None when it is not one."""
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _to_json(value):
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    return value


def _sorted_not_walked(field: str) -> OrderBy:
    """`field` ("-" for descending) as an expression no index matches: COALESCE(x, x) is x, but
    PostgreSQL then sorts the rows a filter found instead of walking the field's index until
    enough match, which it picks for a rare search word it guesses common (seconds)."""
    expression = Coalesce(F(field.lstrip("-")), F(field.lstrip("-")))
    return expression.desc() if field.startswith("-") else expression.asc()


class KeysetPagination(BasePagination):
    """`?cursor=` pages in (field, id) order; `?ordering=` picks the field among the allowed."""

    page_size = 50
    max_page_size = 500
    cursor_query_param = "cursor"
    page_size_query_param = "page_size"
    # field name -> how to read a cursor value back from JSON
    # Views offering more orderings name them in `keyset_orderings`; views whose filters find
    # rows through other indexes (a search) say so with `keyset_sorts_matches(request)`.
    orderings = {"id": whole}
    default_ordering = "id"

    def get_ordering(self, request, view) -> tuple[str, bool]:
        allowed = getattr(view, "keyset_orderings", None) or self.orderings
        default = getattr(view, "keyset_default_ordering", self.default_ordering)
        wanted = request.query_params.get("ordering") or default
        field = wanted.lstrip("-")
        if field not in allowed:
            raise exceptions.ValidationError(
                {
                    "ordering": [
                        gettext("Choose one of: %(fields)s (prefix - for desc).")
                        % {"fields": ", ".join(sorted(allowed))}
                    ]
                }
            )
        return field, wanted.startswith("-")

    def paginate_queryset(self, queryset: QuerySet, request, view=None):
        self.request = request
        self.field, self.descending = self.get_ordering(request, view)
        allowed = getattr(view, "keyset_orderings", None) or self.orderings
        try:
            size = int(request.query_params.get(self.page_size_query_param, self.page_size))
        except ValueError:
            size = self.page_size
        self.size = max(1, min(size, self.max_page_size))
        token = request.query_params.get(self.cursor_query_param)
        position = _decode(token) if token else None
        backwards = bool(position and position.get("back"))

        # The id breaks ties the way the field's index reads, so that the page is a range of
        # it in either direction: ascending after a field indexed (-field, id), the field's
        # direction after one indexed (field, id). Views name the former in
        # `keyset_index_descending`; without it the id is always ascending.
        descending_indexes = getattr(view, "keyset_index_descending", None)
        self.id_descending = descending_indexes is not None and self.descending != (
            self.field in descending_indexes
        )
        forward = [
            f"-{self.field}" if self.descending else self.field,
            "-id" if self.id_descending else "id",
        ]
        if self.field == "id":
            forward = ["-id" if self.descending else "id"]
        order = [f[1:] if f.startswith("-") else f"-{f}" for f in forward] if backwards else forward
        if getattr(view, "keyset_sorts_matches", None) and view.keyset_sorts_matches(request):
            order = [_sorted_not_walked(f) for f in order]
        queryset = queryset.order_by(*order)
        if position is not None:
            value = position.get("v")
            if self.field != "id":
                try:
                    value = allowed[self.field](value) if value is not None else None
                except (ValueError, TypeError, ArithmeticError):
                    value = None
                if value is None:
                    raise exceptions.NotFound(gettext("Invalid cursor."))
            queryset = queryset.filter(self._after(value, position["id"], backwards))
        rows = list(queryset[: self.size + 1])
        more = len(rows) > self.size
        rows = rows[: self.size]
        if backwards:
            rows.reverse()
            self.has_next, self.has_previous = True, more
        else:
            self.has_next, self.has_previous = more, position is not None
        self.rows = rows
        return rows

    def _after(self, value, last_id: int, backwards: bool) -> Q:
        """Rows strictly after (value, id) in the page order (or before, going back)."""
        if self.field == "id":
            return Q(id__gt=last_id) if self.descending == backwards else Q(id__lt=last_id)
        value_greater = self.descending == backwards
        id_greater = self.id_descending == backwards
        value_op = "gt" if value_greater else "lt"
        id_op = "gt" if id_greater else "lt"
        return Q(**{f"{self.field}__{value_op}": value}) | Q(
            **{self.field: value, f"id__{id_op}": last_id}
        )

    def _link(self, row, back: bool) -> str:
        payload = {"id": row.pk, "back": back}
        if self.field != "id":
            payload["v"] = _to_json(getattr(row, self.field))
        params = self.request.query_params.copy()
        params[self.cursor_query_param] = _encode(payload)
        return self.request.build_absolute_uri(
            f"{self.request.path}?{urlencode(params, doseq=True)}"
        )

    def get_paginated_response(self, data):
        return Response(
            {
                "next": self._link(self.rows[-1], back=False)
                if self.has_next and self.rows
                else None,
                "previous": self._link(self.rows[0], back=True)
                if self.has_previous and self.rows
                else None,
                "results": data,
            }
        )

    def get_paginated_response_schema(self, schema):
        return {
            "type": "object",
            "required": ["results"],
            "properties": {
                "next": {"type": "string", "nullable": True, "format": "uri"},
                "previous": {"type": "string", "nullable": True, "format": "uri"},
                "results": schema,
            },
        }

    def get_schema_operation_parameters(self, view):
        allowed = sorted(getattr(view, "keyset_orderings", None) or self.orderings)
        return [
            {
                "name": "ordering",
                "required": False,
                "in": "query",
                "description": "Sort by this field; prefix - for descending.",
                "schema": {"type": "string", "enum": allowed + [f"-{o}" for o in allowed]},
            },
            {
                "name": self.cursor_query_param,
                "required": False,
                "in": "query",
                "description": "The cursor from a previous page's next or previous link.",
                "schema": {"type": "string"},
            },
            {
                "name": self.page_size_query_param,
                "required": False,
                "in": "query",
                "description": f"Rows per page, at most {self.max_page_size}.",
                "schema": {"type": "integer", "minimum": 1, "maximum": self.max_page_size},
            },
        ]
