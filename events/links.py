"""The invitation's public link: the token it carries and the URL made from it."""

import secrets

from django.conf import settings


def new_token() -> str:
    """192 random bits, URL-safe: a link nobody can guess or walk."""
    return secrets.token_urlsafe(24)


def invitation_url(token: str) -> str:
    return f"{settings.SITE_URL}/e/{token}/"
