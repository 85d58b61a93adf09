"""Settings come from the environment, with safe development defaults."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PRODUCTION = {
    "DEBUG": "0",
    "SECRET_KEY": "k" * 20 + "-production-secret-with-enough-entropy-0123456789",
    "ALLOWED_HOSTS": "bonding.example.com",
    "DATABASE_URL": "postgres://bonding:pw@db.example.com:5432/bonding",
    "CELERY_BROKER_URL": "redis://redis.example.com:6379/0",
    "EMAIL_URL": "smtp+tls://mailer:secret@smtp.example.com:587",
    "SMS_BACKEND": "programs.channels.sms_twilio.TwilioBackend",
    "TWILIO_ACCOUNT_SID": "AC" + "0" * 32,
    "TWILIO_AUTH_TOKEN": "twilio-auth-token",
    "TWILIO_MESSAGING_SERVICE_SID": "MG" + "0" * 32,
}


def run_python(code: str, **env: str) -> subprocess.CompletedProcess:
    """Run code in a fresh interpreter with only the given variables set (plus PATH)."""
    clean = {
        "PATH": os.environ["PATH"],
        "VAR_DIR": os.environ.get("TMPDIR", "/tmp") + "/bonding-var",
    }
    clean.update(env)
    return subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env=clean,
        capture_output=True,
        text=True,
        timeout=120,
    )


def read_settings(*names: str, **env: str) -> dict:
    code = (
        "import json, os; os.environ['DJANGO_SETTINGS_MODULE'] = 'bonding.settings';"
        "from django.conf import settings;"
        f"print(json.dumps({{n: getattr(settings, n) for n in {list(names)!r}}}, default=str))"
    )
    result = run_python(code, **env)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.splitlines()[-1])


def test_it_defaults_to_embedded_sqlite_filesystem_broker_and_file_mail():
    values = read_settings("DEBUG", "DATABASES", "CELERY_BROKER_URL", "EMAIL_BACKEND")

    assert values["DEBUG"] is True
    assert values["DATABASES"]["default"]["ENGINE"] == "django.db.backends.sqlite3"
    assert values["DATABASES"]["default"]["NAME"].endswith("bonding.sqlite3")
    assert values["CELERY_BROKER_URL"] == "filesystem://"
    assert values["EMAIL_BACKEND"] == "django.core.mail.backends.filebased.EmailBackend"


def test_it_reads_production_values_from_the_environment():
    values = read_settings(
        "DEBUG",
        "DATABASES",
        "CELERY_BROKER_URL",
        "ALLOWED_HOSTS",
        "EMAIL_BACKEND",
        "EMAIL_HOST",
        "EMAIL_PORT",
        "EMAIL_USE_TLS",
        "LOGGING",
        "CELERY_BROKER_TRANSPORT_OPTIONS",
        **PRODUCTION,
    )

    database = values["DATABASES"]["default"]
    assert values["DEBUG"] is False
    assert database["ENGINE"] == "django.db.backends.postgresql"
    assert (database["HOST"], database["PORT"], database["NAME"]) == (
        "db.example.com",
        5432,
        "bonding",
    )
    assert values["CELERY_BROKER_URL"] == "redis://redis.example.com:6379/0"
    assert values["CELERY_BROKER_TRANSPORT_OPTIONS"]["visibility_timeout"] >= 3600
    assert values["ALLOWED_HOSTS"] == ["bonding.example.com"]
    assert values["EMAIL_BACKEND"] == "django.core.mail.backends.smtp.EmailBackend"
    assert (values["EMAIL_HOST"], values["EMAIL_PORT"], values["EMAIL_USE_TLS"]) == (
        "smtp.example.com",
        587,
        True,
    )
    assert values["LOGGING"]["handlers"]["console"]["formatter"] == "json"


def test_it_refuses_to_start_without_secret_key_when_debug_is_off():
    env = {k: v for k, v in PRODUCTION.items() if k != "SECRET_KEY"}
    result = run_python(
        "import os; os.environ['DJANGO_SETTINGS_MODULE'] = 'bonding.settings';"
        "from django.conf import settings; settings.DEBUG",
        **env,
    )

    assert result.returncode != 0
    assert "SECRET_KEY must be set when DEBUG is off" in result.stderr


def test_check_deploy_reports_nothing_with_production_settings():
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env={"PATH": os.environ["PATH"], "VAR_DIR": "/tmp/bonding-var", **PRODUCTION},
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues (0 silenced)." in result.stdout


def check(**env: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "manage.py", "check"],
        cwd=ROOT,
        env={"PATH": os.environ["PATH"], "VAR_DIR": "/tmp/bonding-var", **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_check_refuses_the_file_sms_backend_with_debug_off():
    result = check(**{**PRODUCTION, "SMS_BACKEND": "programs.channels.sms.FileBackend"})

    assert result.returncode != 0
    assert "programs.E001" in result.stderr
    assert "ALLOW_LOCAL_DELIVERY=1" in result.stderr


def test_allow_local_delivery_lets_the_file_sms_backend_run_with_debug_off():
    env = {**PRODUCTION, "SMS_BACKEND": "programs.channels.sms.FileBackend"}

    result = check(**env, ALLOW_LOCAL_DELIVERY="1")

    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize("email_url", ["filemail://", "consolemail://"])
def test_check_refuses_local_email_backends_with_debug_off(email_url):
    result = check(**{**PRODUCTION, "EMAIL_URL": email_url})

    assert result.returncode != 0
    assert "programs.E003" in result.stderr
    assert "ALLOW_LOCAL_DELIVERY=1" in result.stderr


def test_allow_local_delivery_lets_the_console_email_backend_run_with_debug_off():
    result = check(**{**PRODUCTION, "EMAIL_URL": "consolemail://", "ALLOW_LOCAL_DELIVERY": "1"})

    assert result.returncode == 0, result.stderr


def test_an_email_provider_passes_the_email_check():
    result = check(
        **{**PRODUCTION, "EMAIL_URL": "filemail://", "EMAIL_PROVIDER": "postmark"},
        POSTMARK_SERVER_TOKEN="server-token",
    )

    assert "programs.E003" not in result.stderr, result.stderr


def test_check_refuses_twilio_without_a_sender():
    result = check(**{**PRODUCTION, "TWILIO_MESSAGING_SERVICE_SID": ""})

    assert result.returncode != 0
    assert "programs.E002" in result.stderr
    assert "TWILIO_FROM_NUMBER" in result.stderr


def test_production_logs_are_json_lines():
    result = run_python(
        "import os, django, logging; os.environ['DJANGO_SETTINGS_MODULE'] = 'bonding.settings';"
        "django.setup(); logging.getLogger('bonding').warning('touch %s sent', 7)",
        **PRODUCTION,
    )

    line = json.loads(result.stderr.strip().splitlines()[-1])
    assert line["message"] == "touch 7 sent"
    assert line["level"] == "WARNING"
    assert line["logger"] == "bonding"


def test_collectstatic_works_with_production_settings(tmp_path):
    result = subprocess.run(
        [sys.executable, "manage.py", "collectstatic", "--noinput"],
        cwd=ROOT,
        env={"PATH": os.environ["PATH"], **PRODUCTION, "VAR_DIR": str(tmp_path)},
        capture_output=True,
        text=True,
        timeout=300,
    )

    assert result.returncode == 0, result.stderr[-2000:]
    assert (tmp_path / "staticfiles" / "staticfiles.json").exists()


def test_an_email_provider_sends_through_anymail_with_its_keys():
    values = read_settings(
        "EMAIL_BACKEND",
        "ANYMAIL",
        EMAIL_PROVIDER="postmark",
        POSTMARK_SERVER_TOKEN="server-token",
        ANYMAIL_WEBHOOK_SECRET="hook:secret",
    )

    assert values["EMAIL_BACKEND"] == "anymail.backends.postmark.EmailBackend"
    assert values["ANYMAIL"] == {
        "POSTMARK_SERVER_TOKEN": "server-token",
        "POSTMARK_API_URL": "https://api.postmarkapp.com/",
        "WEBHOOK_SECRET": "hook:secret",
    }


def test_amazon_ses_takes_its_region_from_the_environment():
    values = read_settings(
        "EMAIL_BACKEND", "ANYMAIL", EMAIL_PROVIDER="amazon_ses", AWS_REGION="eu-west-1"
    )

    assert values["EMAIL_BACKEND"] == "anymail.backends.amazon_ses.EmailBackend"
    assert values["ANYMAIL"]["AMAZON_SES_CLIENT_PARAMS"] == {"region_name": "eu-west-1"}


def test_check_deploy_reports_nothing_with_an_email_provider():
    env = {**PRODUCTION, "EMAIL_PROVIDER": "postmark", "POSTMARK_SERVER_TOKEN": "t"}
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env={"PATH": os.environ["PATH"], "VAR_DIR": "/tmp/bonding-var", **env},
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert result.returncode == 0, result.stdout + result.stderr


def test_an_unknown_email_provider_refuses_to_start():
    result = run_python(
        "import os; os.environ['DJANGO_SETTINGS_MODULE'] = 'bonding.settings';"
        "from django.conf import settings; settings.DEBUG",
        EMAIL_PROVIDER="carrier-pigeon",
    )

    assert result.returncode != 0
    assert "EMAIL_PROVIDER='carrier-pigeon'" in result.stderr
