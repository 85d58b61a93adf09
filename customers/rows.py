"""Checking contact rows that arrive in bulk (API sync, CSV import) before they touch the database.

Each row is a dict of field -> raw value; `clean_row` returns the values in their stored form
and the errors by field, with no database access, so a thousand rows cost microseconds each.
What needs the database (owners, e-mail taken by another customer) is checked by the service
for the whole batch at once.
"""

import re
import zoneinfo
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.utils.translation import gettext, ngettext

from customers.contact import normalize_email, normalize_phone
from customers.models import Audience, Channel, Frequency, PartnerKind, Relationship

MAX_LENGTHS = {
    "external_id": 100,
    "first_name": 100,
    "last_name": 100,
    "email": 254,
    "account": 200,
    "owner": 150,
    "postal_address": 1000,
}
TEXT_FIELDS = ("first_name", "last_name", "account", "owner", "postal_address")
CHOICES = {
    "audience": set(Audience.values),
    "relationship": set(Relationship.values),
    "partner_kind": set(PartnerKind.values) | {""},
    "preferred_channel": set(Channel.values),
    "frequency": set(Frequency.values),
}
LANGUAGE_CODES = frozenset(code for code, _name in settings.LANGUAGES)
ACCEPTED = (
    {
        "external_id",
        "email",
        "phone",
        "timezone",
        "estimated_wallet",
        "consents",
        "purchases",
        "referral_code",
        "topics",
        "language",
    }
    | set(TEXT_FIELDS)
    | set(CHOICES)
)
MAX_PURCHASES_PER_ROW = 1000
REFERRAL_CODE_LENGTH = 32
CURRENCY = re.compile(r"^[A-Z]{3}$")
TIME_ZONES = frozenset(zoneinfo.available_timezones())


@dataclass
class CleanRow:
    """One incoming row: the values to store (only the fields it gave) and its errors."""

    values: dict[str, Any] = field(default_factory=dict)
    consents: dict[str, bool] = field(default_factory=dict)
    purchases: list[dict[str, Any]] = field(default_factory=list)
    errors: dict[str, list[str]] = field(default_factory=dict)
    # The code of the referral a new customer comes with (upper-case, as codes are stored).
    referral_code: str = ""
    # The ids of the topics the customer chose, when the row names them (all of them).
    topics: list[int] | None = None

    def fail(self, name: str, message: str) -> None:
        self.errors.setdefault(name, []).append(message)


def storable(text: str) -> bool:
    """Text PostgreSQL can hold: no NUL, and valid UTF-8 (JSON's "\\ud800" is a lone surrogate)."""
    if "\x00" in text:
        return False
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def clean_row(
    raw: Any, *, phone_region: str, require_external_id: bool = True, allow_tier: bool = False
) -> CleanRow:
    """Check one contact row and bring its values to their stored form.

    A tier (its slug or name, found by the upsert) is only for callers that `allow_tier`: the
    CSV import. The API's customers have their tier from the ladder.
    """
    row = CleanRow()
    if not isinstance(raw, dict):
        row.fail("non_field_errors", gettext("Each customer must be a JSON object."))
        return row
    for name in sorted(set(raw) - ACCEPTED - ({"id", "tier"} if allow_tier else {"id"})):
        row.fail(name, gettext("Unknown field."))
    if allow_tier and raw.get("tier"):
        if not isinstance(raw["tier"], str):
            row.fail("tier", gettext("Must be a string."))
        else:
            row.values["tier"] = raw["tier"].strip()

    external_id = raw.get("external_id")
    if external_id in (None, ""):
        if require_external_id:
            row.fail("external_id", gettext("This field is required."))
    elif not isinstance(external_id, str | int) or isinstance(external_id, bool):
        row.fail("external_id", gettext("Must be a string."))
    else:
        row.values["external_id"] = str(external_id).strip()

    for name in TEXT_FIELDS:
        if name in raw:
            value = raw[name]
            if value is None:
                value = ""
            if not isinstance(value, str):
                row.fail(name, gettext("Must be a string."))
                continue
            row.values[name] = value.strip()

    if "email" in raw:
        email = raw["email"]
        if email is None:
            email = ""
        if not isinstance(email, str):
            row.fail("email", gettext("Must be a string."))
        else:
            email = normalize_email(email)
            if email:
                try:
                    validate_email(email)
                except ValidationError:
                    row.fail("email", gettext("Enter a valid email address."))
            row.values["email"] = email

    if "phone" in raw:
        phone = raw["phone"]
        if phone is None:
            phone = ""
        if not isinstance(phone, str | int) or isinstance(phone, bool):
            row.fail("phone", gettext("Must be a string."))
        else:
            try:
                row.values["phone"] = normalize_phone(str(phone), region=phone_region)
            except ValidationError as error:
                row.fail("phone", error.messages[0])

    for name, allowed in CHOICES.items():
        if name in raw:
            value = raw[name] if raw[name] is not None else ""
            if not isinstance(value, str) or value not in allowed:
                choices = ", ".join(sorted(v for v in allowed if v))
                row.fail(
                    name,
                    gettext("“%(value)s” is not a valid choice: %(choices)s.")
                    % {"value": value, "choices": choices},
                )
            else:
                row.values[name] = value

    if "language" in raw:
        language = _language(raw["language"])
        if language is None:
            choices = ", ".join(sorted(LANGUAGE_CODES))
            row.fail(
                "language",
                gettext("“%(value)s” is not a language we speak: %(choices)s.")
                % {"value": raw["language"], "choices": choices},
            )
        else:
            row.values["language"] = language

    if "timezone" in raw:
        zone = raw["timezone"] or ""
        if not isinstance(zone, str) or (zone and zone not in TIME_ZONES):
            row.fail(
                "timezone",
                gettext("“%(zone)s” is not a known time zone (e.g. Europe/Paris).")
                % {"zone": zone},
            )
        else:
            row.values["timezone"] = zone

    if "estimated_wallet" in raw:
        wallet = _decimal(raw["estimated_wallet"])
        if raw["estimated_wallet"] in (None, ""):
            row.values["estimated_wallet"] = None
        elif wallet is None or wallet < 0 or wallet >= Decimal("1e12"):
            row.fail("estimated_wallet", gettext("Must be a positive amount."))
        else:
            row.values["estimated_wallet"] = wallet.quantize(Decimal("0.01"))

    for name, limit in MAX_LENGTHS.items():
        value = row.values.get(name)
        if isinstance(value, str) and len(value) > limit:
            row.fail(name, at_most_characters(limit))
    for name, value in row.values.items():
        # Refuse the row, not the whole batch.
        if isinstance(value, str) and not storable(value):
            row.fail(name, gettext("Contains a NUL character or a lone surrogate."))

    if "topics" in raw:
        topics = raw["topics"] if raw["topics"] is not None else []
        if not isinstance(topics, list) or not all(
            isinstance(pk, int) and not isinstance(pk, bool) for pk in topics
        ):
            row.fail("topics", gettext("Must be a list of topic ids."))
        else:
            row.topics = sorted(set(topics))

    if raw.get("referral_code") not in (None, ""):
        code = raw["referral_code"]
        if not isinstance(code, str) or not storable(code):
            row.fail("referral_code", gettext("Must be a string."))
        elif len(code.strip()) > REFERRAL_CODE_LENGTH:
            row.fail("referral_code", at_most_characters(REFERRAL_CODE_LENGTH))
        else:
            row.referral_code = code.strip().upper()

    if "consents" in raw:
        consents = raw["consents"]
        if not isinstance(consents, dict):
            row.fail("consents", gettext("Must be an object of channel: true or false."))
        else:
            for channel, granted in consents.items():
                if channel not in Channel.values:
                    row.fail(
                        "consents", gettext("Unknown channel “%(channel)s”.") % {"channel": channel}
                    )
                elif not isinstance(granted, bool):
                    row.fail(
                        "consents",
                        gettext("%(channel)s must be true or false.") % {"channel": channel},
                    )
                else:
                    row.consents[channel] = granted

    if "purchases" in raw:
        _clean_purchases(raw["purchases"], row)

    relationship = row.values.get("relationship", Relationship.CHANNEL_PARTNER)
    if row.values.get("partner_kind") and relationship != Relationship.CHANNEL_PARTNER:
        row.fail("partner_kind", gettext("Only channel partners have a partner kind."))
    return row


def _clean_purchases(purchases: Any, row: CleanRow) -> None:
    if not isinstance(purchases, list):
        row.fail("purchases", gettext("Must be a list."))
        return
    if len(purchases) > MAX_PURCHASES_PER_ROW:
        row.fail(
            "purchases",
            gettext("At most %(count)s per customer.") % {"count": MAX_PURCHASES_PER_ROW},
        )
        return
    for index, purchase in enumerate(purchases):
        cleaned, errors = clean_purchase(purchase)
        if errors:
            for name, messages in errors.items():
                for message in messages:
                    # Translated as a whole: a language may order or punctuate the parts otherwise.
                    row.fail(
                        "purchases",
                        gettext("[%(index)s] %(field)s: %(message)s")
                        % {"index": index, "field": name, "message": message},
                    )
        else:
            row.purchases.append(cleaned)


def clean_purchase(raw: Any) -> tuple[dict[str, Any], dict[str, list[str]]]:
    """Check one purchase row: external_id, amount, currency, purchased_on, product_category."""
    errors: dict[str, list[str]] = {}
    if not isinstance(raw, dict):
        return {}, {"non_field_errors": [gettext("Each purchase must be a JSON object.")]}
    cleaned: dict[str, Any] = {}
    external_id = raw.get("external_id")
    if not isinstance(external_id, str | int) or isinstance(external_id, bool) or external_id == "":
        errors["external_id"] = [gettext("This field is required.")]
    elif len(str(external_id)) > 100 or not storable(str(external_id)):
        errors["external_id"] = [gettext("At most 100 characters, no NUL or lone surrogate.")]
    else:
        cleaned["external_id"] = str(external_id).strip()
    amount = _decimal(raw.get("amount"))
    if amount is None or abs(amount) >= Decimal("1e10"):
        errors["amount"] = [gettext("A number is required, e.g. 19.90.")]
    else:
        cleaned["amount"] = amount.quantize(Decimal("0.01"))
    currency = raw.get("currency", "EUR")
    if not isinstance(currency, str) or not CURRENCY.match(currency.upper()):
        errors["currency"] = [gettext("A three-letter ISO 4217 code, e.g. EUR.")]
    else:
        cleaned["currency"] = currency.upper()
    purchased_on = raw.get("purchased_on")
    try:
        cleaned["purchased_on"] = date.fromisoformat(purchased_on)
    except (TypeError, ValueError):
        errors["purchased_on"] = [gettext("A date as YYYY-MM-DD is required.")]
    category = raw.get("product_category") or ""
    if not isinstance(category, str) or len(category) > 60 or not storable(category):
        errors["product_category"] = [gettext("A string of at most 60 characters.")]
    else:
        cleaned["product_category"] = category.strip()
    return cleaned, errors


def at_most_characters(limit: int) -> str:
    return ngettext("At most %(limit)s character.", "At most %(limit)s characters.", limit) % {
        "limit": limit
    }


def _decimal(value: Any) -> Decimal | None:
    if isinstance(value, bool) or value is None:
        return None
    try:
        number = Decimal(str(value))
    except (InvalidOperation, ValueError):
        return None
    return number if number.is_finite() else None


def _language(value: Any) -> str | None:
    """A code we speak ("" for the organization's) from "es", "ES" or "es-MX"; else None."""
    if value is None:
        return ""
    if not isinstance(value, str):
        return None
    code = value.strip().lower().replace("_", "-").split("-", 1)[0]
    if code and code not in LANGUAGE_CODES:
        return None
    return code
