"""Bonding's own click tracking, for programs whose e-mail goes where no provider reports
clicks (plain SMTP): each link of the body becomes `/c/<token>/`, which records the click as a
response of the touch and redirects to the link.

The token is the touch and the URL, signed (SECRET_KEY): the redirect can only ever go where
the message pointed, so /c/ is no open redirect, and nothing is written while sending.
"""

import re

from django.conf import settings
from django.core import signing
from django.utils.html import escape

SALT = "bonding.click"
# A link in rendered text: up to the first space, quote or angle bracket; punctuation ending
# a sentence is not part of it.
_URL = re.compile(r"https?://[^\s<>\"']+")
_TRAILING = ".,;:!?)]}"


def token_for(touch_id: int, url: str) -> str:
    return signing.Signer(salt=SALT).sign_object({"t": touch_id, "u": url}, compress=True)


def target_of(token: str) -> tuple[int, str] | None:
    """The touch and URL a token was made for; None for a token we did not sign."""
    try:
        value = signing.Signer(salt=SALT).unsign_object(token)
    except (signing.BadSignature, ValueError, UnicodeDecodeError):
        return None
    if not isinstance(value, dict):
        return None
    touch_id, url = value.get("t"), value.get("u")
    if not isinstance(touch_id, int) or not isinstance(url, str) or not _URL.fullmatch(url):
        return None
    return touch_id, url


def tracked_url(touch_id: int, url: str) -> str:
    return f"{settings.SITE_URL}/c/{token_for(touch_id, url)}/"


def _kept_as_is(url: str) -> bool:
    """Our own unsubscribe and preference links stay direct: leaving is never a response,
    and one-click unsubscribe must work without a detour."""
    own = settings.SITE_URL
    return url.startswith((f"{own}/u/", f"{own}/p/", f"{own}/c/"))


def _split(found: str) -> tuple[str, str]:
    """The link and the sentence punctuation that followed it."""
    link = found.rstrip(_TRAILING)
    return link, found[len(link) :]


def rewrite_text(text: str, touch_id: int) -> str:
    """Every link of a plain-text body through /c/."""

    def replace(match: re.Match) -> str:
        link, rest = _split(match[0])
        if not link or _kept_as_is(link):
            return match[0]
        return tracked_url(touch_id, link) + rest

    return _URL.sub(replace, text)


def rewrite_html(body: str, touch_id: int) -> str:
    """Every link of an HTML body (the body is text, so its links are too) made a link
    through /c/ that shows the original address."""

    def replace(match: re.Match) -> str:
        shown, rest = _split(match[0])
        # Values are rendered escaped ("&" as "&amp;"), the content's own text is not; no
        # other entity can be part of a link the pattern finds.
        link = shown.replace("&amp;", "&")
        if not link or _kept_as_is(link):
            return match[0]
        return f'<a href="{escape(tracked_url(touch_id, link))}">{shown}</a>{rest}'

    return _URL.sub(replace, body)
