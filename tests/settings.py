"""Settings for the test suite: the real ones, with a fast password hasher.

The database and the broker stay whatever DATABASE_URL and CELERY_BROKER_URL say
(`make test` points them at a throwaway PostgreSQL and Redis).
"""

from bonding.settings import *  # noqa: F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
# The receivers of the webhook tests listen on loopback, and example.com need not resolve here;
# tests/api/test_webhook_addresses.py turns the check back on.
WEBHOOK_ALLOW_PRIVATE_URLS = True

if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":  # noqa: F405
    # The SQLite lane: the test database is a file, so worker and web processes share it.
    DATABASES["default"]["TEST"] = {"NAME": str(VAR_DIR / "test.sqlite3")}  # noqa: F405
