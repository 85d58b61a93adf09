"""The REST API's conventions that settings name: the error shape and per-token throttling.

Kept apart from the views: DRF imports these while it defines its own views.
"""

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from django.utils.translation import gettext, gettext_lazy
from rest_framework import exceptions, parsers, permissions, renderers, status, throttling
from rest_framework.response import Response

# Far deeper than any document the API takes; serializers walk bodies recursively.
MAX_JSON_DEPTH = 32


def json_depth(document) -> int:
    """How deeply lists and objects nest in a parsed JSON document (walked without recursion)."""
    deepest = 0
    stack = [(document, 1)]
    while stack:
        node, depth = stack.pop()
        if isinstance(node, dict):
            children = node.values()
        elif isinstance(node, list):
            children = node
        else:
            continue
        deepest = max(deepest, depth)
        stack.extend((child, depth + 1) for child in children)
    return deepest


class BoundedJSONParser(parsers.JSONParser):
    """JSON bodies, refusing nesting deeper than MAX_JSON_DEPTH with 400 (not a RecursionError)."""

    def parse(self, stream, media_type=None, parser_context=None):
        try:
            document = super().parse(stream, media_type, parser_context)
        except RecursionError as error:
            raise exceptions.ParseError(gettext("JSON parse error - nested too deeply.")) from error
        if json_depth(document) > MAX_JSON_DEPTH:
            raise exceptions.ParseError(
                gettext("JSON parse error - nested deeper than %(depth)s levels.")
                % {"depth": MAX_JSON_DEPTH}
            )
        return document


def exception_handler(exc, context):
    """Every error as {"detail": ..., "errors": {field: [messages]}} with the right status."""
    if isinstance(exc, RequestDataTooBig):
        return Response(
            {"detail": "The request body is too large.", "errors": {}},
            status=status.HTTP_413_REQUEST_ENTITY_TOO_LARGE,
        )
    if isinstance(exc, DjangoValidationError):
        exc = exceptions.ValidationError(
            exc.message_dict if hasattr(exc, "error_dict") else {"non_field_errors": exc.messages}
        )
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    from rest_framework.views import exception_handler as drf_exception_handler

    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(exc, exceptions.ValidationError):
        errors = (
            response.data
            if isinstance(response.data, dict)
            else {"non_field_errors": response.data}
        )
        response.data = {"detail": "The request has invalid fields.", "errors": errors}
    else:
        detail = (
            response.data.get("detail", "") if isinstance(response.data, dict) else response.data
        )
        response.data = {"detail": str(detail), "errors": {}}
    return response


class TokenRateThrottle(throttling.SimpleRateThrottle):
    """Each token (or signed-in user) gets its own request budget; anonymous calls share by IP."""

    scope = "api"

    def get_cache_key(self, request, view):
        if request.auth is not None and hasattr(request.auth, "pk"):
            ident = f"token-{request.auth.pk}"
        elif request.user and request.user.is_authenticated:
            ident = f"user-{request.user.pk}"
        else:
            ident = f"ip-{self.get_ident(request)}"
        return self.cache_format % {"scope": self.scope, "ident": ident}


class BrowsableAPIRenderer(renderers.BrowsableAPIRenderer):
    """DRF's browsable API, whose own templates style a few elements inline: its HTML pages
    alone may use inline styles (scripts stay refused, as everywhere)."""

    def render(self, data, accepted_media_type=None, renderer_context=None):
        response = (renderer_context or {}).get("response")
        if response is not None:
            response._csp_update = {"style-src": ["'unsafe-inline'"]}  # read by django-csp
        return super().render(data, accepted_media_type, renderer_context)


class HasRole(permissions.BasePermission):
    """Signed in (token or session) as an admin, a marketer or an account manager."""

    message = gettext_lazy("Your account has no role in Bonding: ask an admin to give you one.")

    def has_permission(self, request, view) -> bool:
        # Imported here: DRF reads this module before the apps' models are ready.
        from customers.queries import has_role

        return bool(request.user and has_role(request.user))


class SchemaReaders(HasRole):
    """The API's schema and docs: open while developing (DEBUG), for users with a role after."""

    def has_permission(self, request, view) -> bool:
        return settings.DEBUG or super().has_permission(request, view)
