"""The HTTP transport of deliveries: each request connects to the address its host was checked
at (webhooks.addresses), never to what the host resolves to when the connection opens.

The connection pool is opened on the checked address; the request keeps the hostname in its
Host header and, over https, in the TLS server name (SNI) and the certificate check, so a
receiver behind a shared address and a certificate for its name work as before.
"""

import ipaddress
from collections.abc import Iterable
from typing import Any
from urllib.parse import urlsplit

import requests
from requests.adapters import HTTPAdapter

from webhooks.addresses import Destination


class Unchecked(requests.ConnectionError):
    """A request to a host whose address was not checked this round: not sent."""


class PinnedAdapter(HTTPAdapter):
    """Sends to the checked addresses it was given (`pin`); refuses any other host."""

    def __init__(self) -> None:
        super().__init__()
        self._pins: dict[tuple[str, int], str] = {}

    def pin(self, destinations: Iterable[Destination]) -> None:
        """The addresses this round may connect to; what an earlier round pinned is dropped,
        so a host refused now is not reached through an old answer."""
        self._pins = {
            (d.host.lower(), d.port): d.address for d in destinations if d.address is not None
        }

    def send(self, request: requests.PreparedRequest, *args: Any, **kwargs: Any) -> Any:
        parts = urlsplit(request.url)
        if _key(request.url) not in self._pins:
            raise Unchecked(f"{parts.hostname} was not checked before sending.", request=request)
        # The pool's host is an address now; the receiver still sees the name it was given.
        request.headers["Host"] = parts.netloc.rpartition("@")[2]
        return super().send(request, *args, **kwargs)

    def build_connection_pool_key_attributes(
        self, request: requests.PreparedRequest, verify: Any, cert: Any = None
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        host_params, pool_kwargs = super().build_connection_pool_key_attributes(
            request, verify, cert
        )
        host, _ = key = _key(request.url)
        address = self._pins[key]
        is_v6 = ipaddress.ip_address(address.split("%")[0]).version == 6
        host_params["host"] = f"[{address}]" if is_v6 else address
        if host_params["scheme"] == "https":
            # SNI and the certificate's name check use the hostname, not the address.
            pool_kwargs["server_hostname"] = host
            pool_kwargs["assert_hostname"] = host
        return host_params, pool_kwargs


def _key(url: str | None) -> tuple[str, int]:
    parts = urlsplit(url or "")
    return (parts.hostname or "", parts.port or (443 if parts.scheme == "https" else 80))


def pinned_session() -> tuple[requests.Session, PinnedAdapter]:
    """A session whose every request goes through one PinnedAdapter (keep-alive per address)."""
    session = requests.Session()
    adapter = PinnedAdapter()
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return session, adapter
