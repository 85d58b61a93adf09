"""The language a customer is spoken to in: their own, else the organization's."""

from contextlib import AbstractContextManager

from django.conf import settings
from django.utils import translation

from customers.models import Customer

LANGUAGE_CODES = frozenset(code for code, _name in settings.LANGUAGES)


def language_of(customer: Customer | None) -> str:
    """The customer's language when we speak it, else the organization's (LANGUAGE_CODE)."""
    if customer is not None and customer.language in LANGUAGE_CODES:
        return customer.language
    return settings.LANGUAGE_CODE


def speaking_to(customer: Customer | None) -> AbstractContextManager[None]:
    """Translations in the customer's language for the block (a public page, a message)."""
    return translation.override(language_of(customer))
