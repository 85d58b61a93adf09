"""The language a customer is spoken to in: their own, else the organization's."""

from collections.abc import Callable
from contextlib import AbstractContextManager

from django.conf import settings
from django.contrib.auth.models import User
from django.http import HttpRequest
from django.utils import translation

from customers.models import Customer

LANGUAGE_CODES = frozenset(code for code, _name in settings.LANGUAGES)


def language_of(customer: Customer | None) -> str:
    """The customer's language when we speak it, else the organization's (LANGUAGE_CODE)."""
    if customer is not None and customer.language in LANGUAGE_CODES:
        return customer.language
    return settings.LANGUAGE_CODE


def speaking_to(
    customer: Customer | None, request: HttpRequest | None = None
) -> AbstractContextManager[None]:
    """Translations in the customer's language for the block (a public page, a message).

    Given the request, the response's Content-Language says the same: LocaleMiddleware
    would name the browser's language, read after the block has ended.
    """
    language = language_of(customer)
    if request is not None:
        request.spoken_language = language  # type: ignore[attr-defined]
    return translation.override(language)


# Staff users' chosen languages live in the bonding app, above this one: it hands over the
# function that reads them (from its AppConfig.ready), so lower apps never import bonding.
StaffLanguageReader = Callable[[int], str]
_staff_language: list[StaffLanguageReader] = []


def provide_staff_language(reader: StaffLanguageReader) -> None:
    """Register `reader(user_id) -> language code or ""` for messages to staff."""
    _staff_language[:] = [reader]


def speaking_to_staff(user: User) -> AbstractContextManager[None]:
    """Translations in the language a staff user chose for their pages, for a message to
    them (a detractor alert): without a choice, the organization's."""
    chosen = _staff_language[0](user.pk) if _staff_language else ""
    return translation.override(chosen if chosen in LANGUAGE_CODES else settings.LANGUAGE_CODE)
