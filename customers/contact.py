"""How e-mail addresses and phone numbers are written down: one normal form each."""

import phonenumbers
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy


def normalize_email(value: str) -> str:
    """Trimmed and lower-cased, so one address is one customer whatever its spelling."""
    return (value or "").strip().lower()


def normalize_phone(value: str, *, region: str) -> str:
    """The number in E.164 (+14155550123); blank stays blank; nonsense is a ValidationError."""
    value = (value or "").strip()
    if not value:
        return ""
    try:
        number = phonenumbers.parse(value, region)
    except phonenumbers.NumberParseException as error:
        raise ValidationError(
            gettext_lazy("“%(value)s” is not a phone number."),
            code="invalid_phone",
            params={"value": value},
        ) from error
    if not phonenumbers.is_valid_number(number):
        raise ValidationError(
            gettext_lazy("“%(value)s” is not a valid phone number."),
            code="invalid_phone",
            params={"value": value},
        )
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
