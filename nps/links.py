"""The public survey links: the token an invitation carries and the URLs made from it."""

import secrets

from django.conf import settings

from nps.models import Invitation


def new_token() -> str:
    """192 random bits, URL-safe: a link nobody can guess or walk."""
    return secrets.token_urlsafe(24)


def link(invitation: Invitation, *, score_value: int | None = None) -> str:
    """The public survey link (with a one-click score when given)."""
    url = f"{settings.SITE_URL}/s/{invitation.token}/"
    return url if score_value is None else f"{url}?score={score_value}"
