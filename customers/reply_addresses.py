"""The Reply-To address of a message we send, unique to what it was (a program's touch, a
survey invitation), so that the customer's answer finds its way back:
`reply+<kind><id>-<signature>@<INBOUND_DOMAIN>`.

The signature is an HMAC of the key (SECRET_KEY), so nobody can make up the address of
another customer's touch; lower case, since mail systems may fold the case of a local part.
Lives in the lowest app because both programs (touches) and nps (invitations) send mail.
"""

import base64
import re

from django.conf import settings
from django.utils.crypto import constant_time_compare, salted_hmac

TOUCH = "t"
INVITATION = "i"
_ADDRESS = re.compile(r"reply\+([ti])(\d{1,18})-([a-z2-7]{20})@", re.IGNORECASE)


def _signature(kind: str, pk: int, secret: str | None = None) -> str:
    digest = salted_hmac("bonding.reply-to", f"{kind}{pk}", secret=secret, algorithm="sha256")
    # 20 base32 characters: 100 bits.
    return base64.b32encode(digest.digest()).decode()[:20].lower()


def reply_to(kind: str, pk: int) -> str:
    """The address replies to this touch or invitation go to; empty while inbound e-mail is
    not configured (INBOUND_DOMAIN unset), so replies go to the sender as before."""
    domain = settings.INBOUND_DOMAIN
    if not domain or not pk:
        return ""
    return f"reply+{kind}{pk}-{_signature(kind, pk)}@{domain}"


def find(addresses: list[str]) -> tuple[str, int] | None:
    """The (kind, id) a reply was sent to, from its recipients (addresses or whole To/Cc
    headers); None when none of them is a reply address we signed (under the current key or a
    fallback one)."""
    secrets = [settings.SECRET_KEY, *getattr(settings, "SECRET_KEY_FALLBACKS", [])]
    for address in addresses:
        # A header may name several addresses: each one is tried.
        for match in _ADDRESS.finditer(address or ""):
            kind, pk, signature = match[1].lower(), int(match[2]), match[3].lower()
            if any(constant_time_compare(signature, _signature(kind, pk, s)) for s in secrets):
                return kind, pk
    return None
