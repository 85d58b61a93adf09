"""Fixtures shared by every test: people in each role, and a real Celery worker."""

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from django.conf import settings
from django.contrib.auth.models import Group, User
from django.core.cache import cache
from django.utils import translation

from customers.roles import ACCOUNT_MANAGERS, MARKETERS
from tests.lanes import EMBEDDED, POSTGRES_ONLY

ROOT = Path(__file__).resolve().parent.parent


def pytest_collection_modifyitems(config, items):
    """In the embedded lane (bin/with-embedded-defaults sets BONDING_LANE) run only the tests
    listed in tests/lanes.py; a test's own pytest subprocess on SQLite selects normally."""
    if os.environ.get("BONDING_LANE") != "embedded":
        return
    kept, left = [], []
    for item in items:
        path = Path(item.fspath).relative_to(ROOT).as_posix()
        postgres = item.get_closest_marker("postgres") or item.nodeid in POSTGRES_ONLY
        (kept if path in EMBEDDED and not postgres else left).append(item)
    if left:
        config.hook.pytest_deselected(items=left)
        items[:] = kept


# Rows the data migrations create: a transactional test's flush removes them, so tests that
# use a transactional database put them back first (each step is idempotent).
MIGRATION_DATA = [
    ("customers.migrations.0001_roles", "create_roles"),
    ("customers.migrations.0003_default_ladder_and_search", "create_ladder"),
    ("programs.migrations.0002_prototype_program", "create"),
    ("programs.migrations.0012_promoter_ask", "create_ask_program"),
    ("nps.migrations.0002_benchmark_survey", "create"),
]


@pytest.fixture(autouse=True)
def fresh_cache():
    """Rate limits count in the shared cache (Redis, or files): no test spends another's budget."""
    cache.clear()
    yield


@pytest.fixture(autouse=True)
def organizations_language():
    """Each test starts in the organization's language: the test client's LocaleMiddleware
    leaves a request's language active in the thread, which a server's next request would
    replace but a test's next service call would not."""
    translation.deactivate()
    yield
    translation.deactivate()


@pytest.fixture(autouse=True)
def migration_data(request):
    marker = request.node.get_closest_marker("django_db")
    transactional = "transactional_db" in request.fixturenames or (
        marker is not None and marker.kwargs.get("transaction")
    )
    if transactional:
        import importlib

        from django.apps import apps

        request.getfixturevalue("transactional_db")
        for module, function in MIGRATION_DATA:
            getattr(importlib.import_module(module), function)(apps, None)
    yield


def _user(username: str, group: str | None = None, **extra) -> User:
    user = User.objects.create_user(username=username, password="pw", **extra)
    if group:
        user.groups.add(Group.objects.get(name=group))
    return user


@pytest.fixture
def marketer(db) -> User:
    return _user("marketer", MARKETERS, first_name="Maria")


@pytest.fixture
def manager(db) -> User:
    return _user("manager", ACCOUNT_MANAGERS, first_name="Alex")


@pytest.fixture
def other_manager(db) -> User:
    return _user("manager2", ACCOUNT_MANAGERS, first_name="Sam")


@pytest.fixture
def admin_user(db) -> User:
    return _user("admin", is_staff=True, is_superuser=True)


def worker_env(**overrides: str) -> dict[str, str]:
    """The environment a worker process needs to share the test database and broker."""
    env = dict(os.environ)
    env["DJANGO_SETTINGS_MODULE"] = "tests.settings"
    db = settings.DATABASES["default"]
    if db["ENGINE"].endswith("postgresql"):
        # pytest-django renamed the database to the test one; the worker must use it too.
        env["DATABASE_URL"] = (
            f"postgres://{db['USER']}:{db['PASSWORD'] or ''}@{db['HOST']}:{db['PORT']}/{db['NAME']}"
        )
    elif db["ENGINE"].endswith("sqlite3"):
        env["DATABASE_URL"] = f"sqlite:///{db['NAME']}"
    env.update(overrides)
    return env


def start_worker(*, name: str, concurrency: int = 1, **env_overrides: str) -> subprocess.Popen:
    """Start a real Celery worker process and wait until it is ready to take tasks.

    Its output is drained by a thread into `process.log` so the pipe never fills and blocks it.
    """
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "bonding",
            "worker",
            "--loglevel",
            "info",
            "--concurrency",
            str(concurrency),
            "--pool",
            "prefork",
            "--hostname",
            f"{name}@%h",
            "--without-gossip",
            "--without-mingle",
        ],
        cwd=ROOT,
        env=worker_env(**env_overrides),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    process.log = []
    ready = threading.Event()

    def drain() -> None:
        for line in process.stdout:
            process.log.append(line)
            if " ready." in line:
                ready.set()

    threading.Thread(target=drain, daemon=True).start()
    if not ready.wait(timeout=60):
        stop_worker(process)
        raise RuntimeError("the Celery worker did not become ready:\n" + "".join(process.log))
    return process


def stop_worker(process: subprocess.Popen, sig: int = signal.SIGTERM) -> None:
    """Stop a worker and all its pool processes."""
    if process.poll() is None:
        os.killpg(process.pid, sig)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def start_web(*, workers: int = 1, **env_overrides: str) -> tuple[subprocess.Popen, str]:
    """Start gunicorn on a free loopback port, as the Procfile does; return it and its base URL.

    It shares the test database and cache (worker_env); stop it with stop_worker.
    """
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "bonding.wsgi",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            str(workers),
            "--log-level",
            "warning",
        ],
        cwd=ROOT,
        env=worker_env(**env_overrides),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    process.log = []
    threading.Thread(target=lambda: process.log.extend(process.stdout), daemon=True).start()
    deadline = time.monotonic() + 60
    while True:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                break
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                stop_worker(process)
                raise RuntimeError("gunicorn did not start:\n" + "".join(process.log)) from None
            time.sleep(0.1)
    return process, f"http://127.0.0.1:{port}"


@pytest.fixture
def celery_worker_process():
    """A real Celery worker on the test broker, stopped after the test."""
    if not settings.CELERY_BROKER_URL.startswith(("redis://", "filesystem://")):
        pytest.fail("needs the broker of bin/with-test-services or bin/with-embedded-defaults")
    process = start_worker(name="test")
    yield process
    stop_worker(process)
