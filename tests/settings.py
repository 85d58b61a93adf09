"""Settings for the test suite: the real ones, with a fast password hasher.

The database and the broker stay whatever DATABASE_URL and CELERY_BROKER_URL say
(`make test` points them at a throwaway PostgreSQL and Redis).
"""

from bonding.settings import *  # noqa: F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
