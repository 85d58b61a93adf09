"""Which addresses may receive webhooks: only public ones, checked when subscribing and again
before each delivery round, since a host's DNS may later point inside this network."""

import ipaddress
import socket
from urllib.parse import urlsplit

from django.conf import settings


def refusal(url: str) -> str | None:
    """Why this URL may not receive webhooks now: its host is, or resolves to, an address inside
    this network (loopback, private, link-local such as cloud metadata, reserved), which would
    let a subscriber make Bonding post to internal services. None when it may."""
    if settings.WEBHOOK_ALLOW_PRIVATE_URLS:
        return None
    parts = urlsplit(url)
    host = parts.hostname or ""
    try:
        found = socket.getaddrinfo(host, parts.port or 443, proto=socket.IPPROTO_TCP)
    except (OSError, UnicodeError, ValueError):
        return f"The host {host} could not be found."
    for *_, address in found:
        ip = ipaddress.ip_address(str(address[0]).split("%")[0])
        if not ip.is_global:
            return (
                f"{host} is an address inside this network ({ip}): webhooks go only to public "
                "addresses (WEBHOOK_ALLOW_PRIVATE_URLS=1 allows others, e.g. for local trials)."
            )
    return None
