"""Template context shared by every page."""

from django.conf import settings
from django.http import HttpRequest


def organization(request: HttpRequest) -> dict:
    """The organization's name for titles and footers."""
    return {"organization_name": settings.ORGANIZATION_NAME}
