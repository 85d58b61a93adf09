"""SMS through Twilio's Messages API with the official `twilio` library.

Set SMS_BACKEND=programs.channels.sms_twilio.TwilioBackend, TWILIO_ACCOUNT_SID,
TWILIO_AUTH_TOKEN and TWILIO_MESSAGING_SERVICE_SID (or TWILIO_FROM_NUMBER). Each message asks
Twilio to report its fate to /sms/twilio/status/?touch=<id> under SITE_URL: the touch is named
in the URL (which Twilio signs), so a touch sent to review without Twilio's answer is still
found when Twilio reports it delivered or failed.
"""

import os

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.urls import reverse
from requests.exceptions import ConnectionError as RequestsConnectionError
from requests.exceptions import ConnectTimeout, ProxyError, RequestException, SSLError, Timeout
from twilio.base.exceptions import TwilioRestException
from twilio.http.http_client import TwilioHttpClient
from twilio.rest import Client
from urllib3.exceptions import ConnectTimeoutError, NewConnectionError

from programs.channels import Message, PermanentError, TransientError, UncertainError


class TwilioBackend:
    """One Twilio client per connection of a delivery batch: its HTTP session (and
    connection) is shared by the texts sent over it."""

    # A batch may send over several at once (SMS_SEND_CONNECTIONS, programs/delivery_pool.py).
    concurrent = True

    def __init__(self) -> None:
        if not (settings.TWILIO_ACCOUNT_SID and settings.TWILIO_AUTH_TOKEN):
            raise ImproperlyConfigured("Twilio needs TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN.")
        if not (settings.TWILIO_MESSAGING_SERVICE_SID or settings.TWILIO_FROM_NUMBER):
            raise ImproperlyConfigured(
                "Twilio needs TWILIO_MESSAGING_SERVICE_SID or TWILIO_FROM_NUMBER to send from."
            )
        http = TwilioHttpClient(timeout=settings.TWILIO_TIMEOUT_SECONDS)
        if http.session is not None:
            # What requests reads from the environment for every message (HTTPS_PROXY,
            # NO_PROXY, REQUESTS_CA_BUNDLE: a walk over all of os.environ, a tenth of a text's
            # time), read once for this connection: the API's address does not change.
            found = _environment_settings(http.session, settings.TWILIO_API_URL)
            http.session.proxies, http.session.verify = dict(found["proxies"]), found["verify"]
            http.session.trust_env = False
        self.client = Client(
            settings.TWILIO_ACCOUNT_SID, settings.TWILIO_AUTH_TOKEN, http_client=http
        )
        self.client.api.base_url = settings.TWILIO_API_URL
        # Resolved once per batch, not per text.
        self.status_url = settings.SITE_URL + reverse("programs:twilio_status")

    def send(self, message: Message) -> str:
        """Hand one text to Twilio; returns its message SID."""
        sender = (
            {"messaging_service_sid": settings.TWILIO_MESSAGING_SERVICE_SID}
            if settings.TWILIO_MESSAGING_SERVICE_SID
            else {"from_": settings.TWILIO_FROM_NUMBER}
        )
        callback = f"{self.status_url}?touch={message.touch_id}"
        try:
            sent = self.client.messages.create(
                to=message.to, body=message.text, status_callback=callback, **sender
            )
        except TwilioRestException as error:
            raise _refusal(error) from error
        except RequestException as error:
            raise _lost(error) from error
        return str(sent.sid)


# The variables of the environment requests reads for an http(s) address (proxies, the
# addresses that bypass them, the CA bundle).
ENVIRONMENT_READ = tuple(
    name
    for base in ("http_proxy", "https_proxy", "all_proxy", "no_proxy")
    for name in (base, base.upper())
) + ("REQUEST_METHOD", "REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE")
_environment_found: dict[tuple, dict] = {}


def _environment_settings(session, url: str) -> dict:
    """What requests makes of the environment for `url`, worked out once for these values of
    the variables it reads: its walk over all of os.environ, for each connection of each batch,
    was a twentieth of the worker's Python time per batch (bench/sms.py)."""
    key = (url, *(os.environ.get(name) for name in ENVIRONMENT_READ))
    found = _environment_found.get(key)
    if found is None:
        found = session.merge_environment_settings(url, {}, None, None, None)
        _environment_found[key] = found
    return found


def _refusal(error: TwilioRestException) -> Exception:
    """Twilio answered with an error: busy (429) or broken (5xx) may pass; any other 4xx (an
    invalid or unsubscribed number, a refused sender) will not."""
    said = f"Twilio {error.status}" + (f" error {error.code}" if error.code else "")
    # The library puts its own words before Twilio's; only Twilio's say what went wrong.
    text = (error.msg or "").removeprefix("Unable to create record: ")
    said += f": {text}" if text else ""
    if error.status == 429 or error.status >= 500:
        return TransientError(said)
    return PermanentError(said)


def _lost(error: RequestException) -> Exception:
    """No answer from Twilio. Before the request went out (refused, no route, a connect
    timeout) it is tried again; after (a read timeout, a dropped connection) Twilio may have
    the message, so a person decides."""
    reason = getattr(error.args[0], "reason", None) if error.args else None
    if isinstance(error, ConnectTimeout | SSLError | ProxyError) or isinstance(
        reason, NewConnectionError | ConnectTimeoutError
    ):
        return TransientError(f"Twilio not reached: {type(reason or error).__name__}")
    if isinstance(error, Timeout | RequestsConnectionError):
        return UncertainError(f"No answer from Twilio after the message was sent: {error}")
    return TransientError(f"Twilio not reached: {error}")
