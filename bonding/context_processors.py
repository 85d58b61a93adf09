"""Template context shared by every page."""

from django.conf import settings
from django.http import HttpRequest


def organization(request: HttpRequest) -> dict:
    """The organization's name for titles and footers."""
    return {"organization_name": settings.ORGANIZATION_NAME}


def roles(request: HttpRequest) -> dict:
    """Whether the viewer sees marketers' pages, for the navigation."""
    from customers.queries import sees_everyone

    user = getattr(request, "user", None)
    return {"is_marketer": bool(user and sees_everyone(user))}
