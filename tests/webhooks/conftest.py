"""A real receiver on loopback: a threaded HTTP server that records what arrives and answers
what the test tells it to (200, 500s, 410, or nothing at all while stopped)."""

import json
import ssl
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from standardwebhooks.webhooks import Webhook


@dataclass
class Arrival:
    message_id: str
    headers: dict[str, str]
    body: bytes

    @property
    def payload(self) -> dict:
        return json.loads(self.body)


@dataclass
class Receiver:
    """What arrived, in order; `answers` are the statuses to give next (then 200)."""

    url: str = ""
    arrivals: list[Arrival] = field(default_factory=list)
    answers: list[int] = field(default_factory=list)
    delay: float = 0.0
    lock: threading.Lock = field(default_factory=threading.Lock)

    server: ThreadingHTTPServer | None = None
    # The TLS server names (SNI) clients asked for, when listening over TLS.
    server_names: list[str | None] = field(default_factory=list)

    def start(self, port: int = 0, tls: ssl.SSLContext | None = None) -> None:
        """Listen (again, on the same port after a stop); over TLS with `tls` given."""
        self.server = ThreadingHTTPServer(("127.0.0.1", port), _handler(self))
        scheme = "http"
        if tls is not None:
            tls.sni_callback = lambda _socket, name, _context: self.server_names.append(name)
            self.server.socket = tls.wrap_socket(self.server.socket, server_side=True)
            scheme = "https"
        self.url = f"{scheme}://127.0.0.1:{self.server.server_address[1]}/hooks"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self) -> int:
        """Stop listening, as a receiver that went down: connections are refused."""
        assert self.server is not None
        port = self.server.server_address[1]
        self.server.shutdown()
        self.server.server_close()
        self.server = None
        return port

    def verified(self, secret: str) -> list[dict]:
        """Every arrival checked by the standardwebhooks library; raises on a bad signature."""
        return [Webhook(secret).verify(a.body, a.headers) for a in list(self.arrivals)]


def _handler(receiver: Receiver):
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            if receiver.delay:
                threading.Event().wait(receiver.delay)
            with receiver.lock:
                code = receiver.answers.pop(0) if receiver.answers else 200
                if 200 <= code < 300:
                    headers = {k.lower(): v for k, v in self.headers.items()}
                    receiver.arrivals.append(Arrival(headers["webhook-id"], headers, body))
            self.send_response(code)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args):
            pass

    return Handler


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    found = Receiver()
    found.start()
    yield found
    if found.server is not None:
        found.stop()
