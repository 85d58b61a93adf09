"""Middleware of the whole site: the viewer's time zone, sign-in, API and inbound e-mail body
limits, and the Permissions-Policy header."""

import re
import zoneinfo
from collections.abc import Callable
from io import BytesIO

from django.conf import settings
from django.contrib.auth.middleware import LoginRequiredMiddleware
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils import timezone

# Set by a line of JavaScript in base.html from the browser's own time zone.
TIMEZONE_COOKIE = "tz"


class ViewerTimezoneMiddleware:
    """Activate the time zone the browser reports in the `tz` cookie, when it is a real one."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        name = request.COOKIES.get(TIMEZONE_COOKIE, "")
        try:
            timezone.activate(zoneinfo.ZoneInfo(name)) if name else timezone.deactivate()
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            timezone.deactivate()
        return self.get_response(request)


class SpokenLanguageMiddleware:
    """A public page shown in its customer's language says so in Content-Language.

    Placed after LocaleMiddleware, so its header is set first and Locale's setdefault keeps it.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        spoken = getattr(request, "spoken_language", None)
        if spoken:
            response.headers["Content-Language"] = spoken
        return response


class LoginRequiredExceptApiMiddleware(LoginRequiredMiddleware):
    """Pages need a signed-in user; the API answers 401 itself (token or session)."""

    def process_view(self, request, view_func, view_args, view_kwargs):
        if request.path_info.startswith("/api/"):
            return None
        return super().process_view(request, view_func, view_args, view_kwargs)


def role_not_required(view_func):
    """Mark a page a signed-in user with no role may still open (signing out)."""
    view_func.role_required = False
    return view_func


class RoleRequiredMiddleware:
    """Pages answer 403 to a signed-in user with no role; the API says so in its permission."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_view(self, request, view_func, view_args, view_kwargs):
        if request.path_info.startswith("/api/"):
            return None
        # Public pages (login, token links, health) and sign-out stay open to everyone.
        if not getattr(view_func, "login_required", True):
            return None
        if not getattr(view_func, "role_required", True):
            return None
        from customers.queries import has_role

        if request.user.is_authenticated and not has_role(request.user):
            raise PermissionDenied
        return None


class ApiBodyLimitMiddleware:
    """Refuse API request bodies over API_MAX_BODY_BYTES with 413 before reading them."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.path_info.startswith("/api/"):
            try:
                length = int(request.META.get("CONTENT_LENGTH") or 0)
            except ValueError:
                length = 0
            if length > settings.API_MAX_BODY_BYTES:
                return JsonResponse(
                    {
                        "detail": f"The request body is over {settings.API_MAX_BODY_BYTES} bytes.",
                        "errors": {},
                    },
                    status=413,
                )
        return self.get_response(request)


# anymail's inbound webhooks (/anymail/<esp>/inbound/): a reply with its attachments.
INBOUND_PATH = re.compile(r"^/anymail/[a-z_]+/inbound/$")


class InboundBodyLimitMiddleware:
    """Replies posted to /anymail/<esp>/inbound/ may carry attachments far over the API's
    limit: up to INBOUND_MAX_BODY_BYTES they are read whole (not refused at
    DATA_UPLOAD_MAX_MEMORY_SIZE and lost), above it they get 413 unread. Only a request with
    credentials is read early: anymail refuses the others before reading anything."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.method == "POST" and INBOUND_PATH.match(request.path_info):
            try:
                length = int(request.META.get("CONTENT_LENGTH") or 0)
            except ValueError:
                length = 0
            if length > settings.INBOUND_MAX_BODY_BYTES:
                return HttpResponse(
                    f"The message is over {settings.INBOUND_MAX_BODY_BYTES} bytes.",
                    status=413,
                    content_type="text/plain",
                )
            if length and "Authorization" in request.headers:
                # Read within our own limit; request.body then serves it without its check.
                body = request.read(settings.INBOUND_MAX_BODY_BYTES + 1)
                if len(body) > settings.INBOUND_MAX_BODY_BYTES:
                    return HttpResponse(
                        f"The message is over {settings.INBOUND_MAX_BODY_BYTES} bytes.",
                        status=413,
                        content_type="text/plain",
                    )
                request._body = body  # type: ignore[attr-defined]
                request._stream = BytesIO(body)  # type: ignore[attr-defined]
        return self.get_response(request)


class PermissionsPolicyMiddleware:
    """Send a Permissions-Policy denying every feature in PERMISSIONS_POLICY_DENIED."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response
        self.policy = ", ".join(f"{feature}=()" for feature in settings.PERMISSIONS_POLICY_DENIED)

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        response.setdefault("Permissions-Policy", self.policy)
        return response
