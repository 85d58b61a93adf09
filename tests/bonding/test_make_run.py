"""`make run` as a newcomer meets it: DEBUG off over plain HTTP, links that point where it
serves, a secret key made once and kept, styled error pages and static files."""

import json
import os
import shlex
import stat
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from tests.conftest import start_web, stop_worker

ROOT = Path(__file__).resolve().parents[2]


def run_env(**make_vars: str) -> dict[str, str]:
    """The variables `make run` starts web, worker and beat with (read from `make -n run`)."""
    clean = {"PATH": os.environ["PATH"], **make_vars}
    printed = subprocess.run(
        ["make", "-n", "run"], cwd=ROOT, env=clean, capture_output=True, text=True, timeout=60
    )
    assert printed.returncode == 0, printed.stderr
    start = next(line for line in printed.stdout.splitlines() if "honcho start" in line)
    assignments = {}
    for word in shlex.split(start):
        name, equals, value = word.partition("=")
        if not equals:
            break
        if "$" not in value:  # PATH and LOG_FORMAT are the shell's to expand
            assignments[name] = value
    return assignments


def read_settings(*names: str, **env: str) -> dict:
    code = (
        "import json, os; os.environ['DJANGO_SETTINGS_MODULE'] = 'bonding.settings';"
        "from django.conf import settings;"
        f"print(json.dumps({{n: getattr(settings, n) for n in {list(names)!r}}}, default=str))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env={"PATH": os.environ["PATH"], **env},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.splitlines()[-1])


def test_links_in_messages_point_at_the_port_make_run_serves(tmp_path):
    env = run_env(PORT="8101")

    values = read_settings("SITE_URL", "DEBUG", VAR_DIR=str(tmp_path), **env)

    assert env["PORT"] == "8101"
    assert values["SITE_URL"] == "http://127.0.0.1:8101"
    assert values["DEBUG"] is False


def test_a_site_url_that_is_set_wins_over_host_and_port():
    env = run_env(PORT="8101", SITE_URL="https://crm.example.com")

    assert env["SITE_URL"] == "https://crm.example.com"


def test_make_run_is_plain_http_with_debug_off_and_debug_1_turns_it_on(tmp_path):
    names = ("DEBUG", "SECURE_SSL_REDIRECT", "SESSION_COOKIE_SECURE", "CSRF_COOKIE_SECURE")

    served = read_settings(*names, VAR_DIR=str(tmp_path), **run_env())
    developing = read_settings(*names, VAR_DIR=str(tmp_path), **run_env(DEBUG="1"))

    assert served == dict.fromkeys(names, False)
    assert developing["DEBUG"] is True


def test_make_run_passes_the_system_checks_with_texts_going_to_files(tmp_path):
    env = run_env()

    result = subprocess.run(
        [sys.executable, "manage.py", "check"],
        cwd=ROOT,
        env={"PATH": os.environ["PATH"], "VAR_DIR": str(tmp_path), **env},
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert env["ALLOW_LOCAL_DELIVERY"] == "1"
    assert env["DEBUG"] == "0"
    assert result.returncode == 0, result.stderr


def test_the_generated_secret_key_is_kept_across_restarts(tmp_path):
    env = {"DEBUG": "0", "SECRET_KEY_FILE": str(tmp_path / "var" / "secret_key")}

    first = read_settings("SECRET_KEY", VAR_DIR=str(tmp_path), **env)["SECRET_KEY"]
    second = read_settings("SECRET_KEY", VAR_DIR=str(tmp_path), **env)["SECRET_KEY"]
    elsewhere = read_settings(
        "SECRET_KEY", VAR_DIR=str(tmp_path), DEBUG="0", SECRET_KEY_FILE=str(tmp_path / "other")
    )["SECRET_KEY"]

    assert len(first) >= 50
    assert first == second
    assert elsewhere != first
    assert stat.S_IMODE((tmp_path / "var" / "secret_key").stat().st_mode) == 0o600


def test_debug_off_without_any_key_still_refuses_to_start(tmp_path):
    result = subprocess.run(
        [sys.executable, "-c", "import django; django.setup()"],
        cwd=ROOT,
        env={
            "PATH": os.environ["PATH"],
            "DJANGO_SETTINGS_MODULE": "bonding.settings",
            "DEBUG": "0",
            "VAR_DIR": str(tmp_path),
        },
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert result.returncode != 0
    assert "SECRET_KEY must be set when DEBUG is off" in result.stderr


def fetch(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=30) as response:  # noqa: S310 (loopback)
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


@pytest.mark.slow
def test_the_served_site_shows_product_pages_and_its_static_files(transactional_db, tmp_path):
    env = {**run_env(), "VAR_DIR": str(tmp_path), "DJANGO_SETTINGS_MODULE": "bonding.settings"}
    collected = subprocess.run(
        [sys.executable, "manage.py", "collectstatic", "--noinput", "--verbosity", "0"],
        cwd=ROOT,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert collected.returncode == 0, collected.stderr
    web, base = start_web(**env)
    try:
        missing = fetch(f"{base}/no-such-page/")
        sign_in = fetch(f"{base}/accounts/login/")
        stylesheet = sign_in[1].split('<link rel="stylesheet" href="')[1].split('"')[0]
        icon = sign_in[1].split('<link rel="icon" href="')[1].split('"')[0]
        css, icon_file = fetch(base + stylesheet), fetch(base + icon)
    finally:
        stop_worker(web)

    assert missing[0] == 404
    assert "<h1>Not found</h1>" in missing[1]
    assert "URLconf" not in missing[1]
    assert sign_in[0] == 200
    # whitenoise serves the hashed names collectstatic wrote, as it will for `make run`.
    assert stylesheet.startswith("/static/css/bonding.") and stylesheet != "/static/css/bonding.css"
    assert css[0] == 200 and "--brand" in css[1]
    assert icon_file[0] == 200 and icon_file[1].startswith("<svg")


def test_the_embedded_default_counts_limits_in_a_cache_every_process_shares(tmp_path):
    caches = read_settings("CACHES", VAR_DIR=str(tmp_path), **run_env())["CACHES"]

    assert caches["default"]["BACKEND"] == "django.core.cache.backends.filebased.FileBasedCache"
    assert caches["default"]["LOCATION"] == str(tmp_path / "cache")
