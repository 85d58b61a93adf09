"""Is each part the site depends on answering? Each check returns None or the reason why not."""

import logging

from django.conf import settings
from django.db import connection
from kombu import Connection

logger = logging.getLogger(__name__)

# A health probe that hangs is worse than one that fails: the load balancer times out first.
BROKER_TIMEOUT_SECONDS = 3


def database_problem() -> str | None:
    """None when the database answers a trivial query, else why not."""
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception as error:
        logger.warning("health: database unavailable: %s", type(error).__name__)
        return type(error).__name__
    return None


def broker_problem() -> str | None:
    """None when the Celery broker accepts a connection within the timeout, else why not."""
    try:
        with Connection(
            settings.CELERY_BROKER_URL,
            transport_options=settings.CELERY_BROKER_TRANSPORT_OPTIONS,
            connect_timeout=BROKER_TIMEOUT_SECONDS,
        ) as conn:
            conn.ensure_connection(
                max_retries=1, interval_start=0, interval_step=0, timeout=BROKER_TIMEOUT_SECONDS
            )
            # Some transports connect lazily: opening a channel makes them really talk.
            conn.default_channel  # noqa: B018
    except Exception as error:
        logger.warning("health: broker unavailable: %s", type(error).__name__)
        return type(error).__name__
    return None
