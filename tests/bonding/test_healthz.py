"""GET /healthz tells a load balancer whether the database and the broker answer."""

import socket
import threading

import pytest
from django.db import connections
from django.db.utils import load_backend

from bonding import health


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def get_within(client, url: str, seconds: float):
    """GET url in a thread; fail the test if it hangs instead of answering."""
    outcome = {}
    thread = threading.Thread(target=lambda: outcome.setdefault("response", client.get(url)))
    thread.start()
    thread.join(seconds)
    assert not thread.is_alive(), f"{url} hung for more than {seconds} s"
    return outcome["response"]


@pytest.mark.django_db
def test_it_says_ok_when_database_and_broker_answer(client):
    response = client.get("/healthz")

    assert response.status_code == 200
    assert response.json() == {"database": "ok", "broker": "ok"}
    assert "no-cache" in response["Cache-Control"]


@pytest.mark.django_db
def test_it_needs_no_login(client):
    response = client.get("/healthz")

    assert response.status_code == 200


@pytest.mark.django_db
def test_it_answers_503_naming_the_broker_when_the_broker_is_down(client, settings):
    settings.CELERY_BROKER_URL = f"redis://127.0.0.1:{closed_port()}/0"
    settings.CELERY_BROKER_TRANSPORT_OPTIONS = {"socket_connect_timeout": 3}

    response = get_within(client, "/healthz", seconds=30)

    assert response.status_code == 503
    body = response.json()
    assert body["database"] == "ok"
    assert body["broker"].startswith("down")


@pytest.mark.django_db
def test_it_answers_503_naming_the_database_when_the_database_is_down(client, monkeypatch):
    default = connections["default"].settings_dict
    if default["ENGINE"] == "django.db.backends.sqlite3":
        broken = {**default, "NAME": "/nonexistent/folder/bonding.sqlite3"}
    else:
        broken = {**default, "PORT": closed_port(), "OPTIONS": {"connect_timeout": 3}}
    backend = load_backend(default["ENGINE"])
    monkeypatch.setattr(health, "connection", backend.DatabaseWrapper(broken, "health-probe"))

    response = get_within(client, "/healthz", seconds=30)

    assert response.status_code == 503
    body = response.json()
    assert body["database"].startswith("down")
    assert body["broker"] == "ok"
