"""docker-compose.yml agrees with the settings module (no Docker engine here to run it)."""

import re
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]


def compose() -> dict:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def settings_variables() -> set[str]:
    """Every environment variable that bonding/settings.py reads."""
    source = (ROOT / "bonding" / "settings.py").read_text()
    return set(re.findall(r'env(?:\.\w+)?\(\s*"([A-Z_]+)"', source))


def test_it_runs_postgres_redis_web_worker_and_beat():
    services = compose()["services"]

    assert {"postgres", "redis", "web", "worker", "beat"} <= set(services)
    assert services["web"]["command"][0] == "gunicorn"
    assert services["worker"]["command"][:4] == ["celery", "-A", "bonding", "worker"]
    assert services["beat"]["command"][:4] == ["celery", "-A", "bonding", "beat"]


def test_every_service_has_a_health_check_except_beat_and_migrate():
    services = compose()["services"]

    for name in ("postgres", "redis", "web", "worker"):
        assert "healthcheck" in services[name], name
    assert "/healthz" in " ".join(services["web"]["healthcheck"]["test"])


def test_postgres_keeps_its_data_in_a_volume():
    data = compose()

    assert "pgdata:/var/lib/postgresql/data" in data["services"]["postgres"]["volumes"]
    assert "pgdata" in data["volumes"]


def test_app_services_set_only_variables_the_settings_read():
    known = settings_variables()
    services = compose()["services"]

    for name in ("web", "worker", "beat", "migrate"):
        environment = services[name]["environment"]
        unknown = set(environment) - known
        assert not unknown, f"{name} sets variables settings.py never reads: {unknown}"
        assert environment["DEBUG"] == "0"
        assert environment["DATABASE_URL"].startswith("postgres://")
        assert environment["DATABASE_URL"].endswith("@postgres:5432/bonding")
        assert environment["CELERY_BROKER_URL"] == "redis://redis:6379/0"


def test_the_settings_read_what_production_needs():
    assert {
        "DEBUG",
        "SECRET_KEY",
        "ALLOWED_HOSTS",
        "DATABASE_URL",
        "CELERY_BROKER_URL",
        "EMAIL_URL",
        "DEFAULT_FROM_EMAIL",
        "SITE_URL",
        "ORGANIZATION_NAME",
        "ORGANIZATION_ADDRESS",
    } <= settings_variables()


def test_mailpit_catches_mail_for_local_trials_only():
    data = compose()
    mailpit = data["services"]["mailpit"]

    assert mailpit["image"].startswith("axllent/mailpit:")
    assert mailpit["profiles"] == ["local"]  # never started by a plain `docker compose up`
    assert "8025:8025" in mailpit["ports"]
    email_url = data["services"]["web"]["environment"]["EMAIL_URL"]
    assert email_url == "${EMAIL_URL:-smtp://mailpit:1025}"
    assert "consolemail" not in (ROOT / "docker-compose.yml").read_text()
