"""Show times in the viewer's own time zone (storage is always UTC)."""

import zoneinfo
from collections.abc import Callable

from django.http import HttpRequest, HttpResponse
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
