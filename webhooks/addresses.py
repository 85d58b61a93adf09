"""Which addresses may receive webhooks: only public ones, checked when subscribing and again
before each delivery round, since a host's DNS may later point inside this network.

A delivery connects to the very address that was checked (webhooks.transport pins it): a host
resolved a second time when the connection opens could answer a public address to the check and
127.0.0.1 to the request (DNS rebinding).
"""

import ipaddress
import socket
from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import urlsplit

from django.conf import settings


@dataclass(frozen=True)
class Destination:
    """Where a URL's requests may go now: the address its host resolved to, every answer
    checked, or why none may."""

    host: str
    port: int
    address: str | None
    refusal: str | None


def resolve(host: str, port: int) -> list[str]:
    """The host's addresses as the resolver answers now, in its order of preference. The one
    place webhooks look names up, so tests can stand in a resolver whose answers change."""
    found = socket.getaddrinfo(host, port, proto=socket.IPPROTO_TCP)
    return [str(address[0]) for *_, address in found]


def destination(url: str) -> Destination:
    """Resolve the URL's host once and check every address it answered: a host with one
    address inside this network is refused as a whole (a client may pick any of them)."""
    return _checked(*_host_and_port(url))


def destinations(urls: Iterable[str]) -> dict[str, Destination]:
    """Each URL's destination, a host shared by several URLs resolved once: its endpoints are
    sent to the same checked address."""
    found: dict[tuple[str, int], Destination] = {}
    answer = {}
    for url in urls:
        where = _host_and_port(url)
        if where not in found:
            found[where] = _checked(*where)
        answer[url] = found[where]
    return answer


def _host_and_port(url: str) -> tuple[str, int]:
    parts = urlsplit(url)
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        port = 0
    return (parts.hostname or "", port)


def _checked(host: str, port: int) -> Destination:
    try:
        found = resolve(host, port) if port else []
    except (OSError, UnicodeError, ValueError):
        found = []
    if not found:
        return Destination(host, port, None, f"The host {host} could not be found.")
    if not settings.WEBHOOK_ALLOW_PRIVATE_URLS:
        for address in found:
            ip = ipaddress.ip_address(address.split("%")[0])
            if not ip.is_global:
                return Destination(
                    host,
                    port,
                    None,
                    f"{host} is an address inside this network ({ip}): webhooks go only to "
                    "public addresses (WEBHOOK_ALLOW_PRIVATE_URLS=1 allows others, e.g. for "
                    "local trials).",
                )
    return Destination(host, port, found[0], None)


def refusal(url: str) -> str | None:
    """Why this URL may not receive webhooks now: its host is, or resolves to, an address inside
    this network (loopback, private, link-local such as cloud metadata, reserved), which would
    let a subscriber make Bonding post to internal services. None when it may."""
    if settings.WEBHOOK_ALLOW_PRIVATE_URLS:
        return None
    return destination(url).refusal
