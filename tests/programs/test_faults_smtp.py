"""An SMTP server that defers (4xx) is retried; one that refuses (5xx) fails only that touch;
a failure once the server may have the message goes to review, never resent."""

from datetime import timedelta

import pytest
from django.utils import timezone

from programs import tasks
from programs.delivery import deliver
from programs.dispatch import dispatch_due, sweep_leases
from programs.models import Touch
from tests.programs.conftest import message_ids, unfinished, wait_until


def _dispatch_until_final(workers) -> None:
    def dispatched() -> bool:
        tasks.dispatch_touches_task()
        return unfinished() == 0

    wait_until(dispatched, timeout=45, interval=0.3, what="every touch final", detail=workers.log)


@pytest.mark.slow
def test_deferred_touches_are_retried_and_delivered_once(
    transactional_db, smtp_sink, make_touches, workers
):
    smtp_sink.defer_rcpt = 4  # the first four recipients: 451 at RCPT
    smtp_sink.defer_data = 4  # the next four messages: 451 at DATA
    touches = make_touches(20)
    workers.start("mailer", TOUCH_RETRY_BASE_SECONDS="1")

    _dispatch_until_final(workers)

    rows = Touch.objects.order_by("pk").values_list("status", "attempts", "last_error")
    assert [status for status, _, _ in rows] == ["sent"] * 20
    assert sorted(attempts for _, attempts, _ in rows) == [1] * 12 + [2] * 8
    assert all("451" in error for _, attempts, error in rows if attempts == 2)
    assert smtp_sink.counts() == dict.fromkeys(message_ids(touches).values(), 1)


@pytest.mark.slow
def test_a_refused_recipient_fails_and_the_rest_of_the_batch_goes_out(
    transactional_db, smtp_sink, make_touches, workers
):
    touches = make_touches(10)
    refused = touches[4]
    smtp_sink.refuse = {refused.customer.email}
    workers.start("mailer")

    _dispatch_until_final(workers)

    refused.refresh_from_db()
    assert (refused.status, refused.attempts, refused.message_id) == ("failed", 1, "")
    assert refused.last_error.startswith("recipient refused: 550")
    assert "Mailbox unavailable" in refused.last_error
    others = {pk: mid for pk, mid in message_ids(touches).items() if pk != refused.pk}
    assert smtp_sink.counts() == dict.fromkeys(others.values(), 1)
    sent = dict(Touch.objects.filter(status=Touch.Status.SENT).values_list("pk", "message_id"))
    assert sent == others


def test_a_touch_deferred_past_the_attempt_limit_fails_with_the_reason(
    db, settings, smtp_settings, smtp_sink, make_touches
):
    settings.TOUCH_MAX_ATTEMPTS = 2
    settings.TOUCH_RETRY_BASE_SECONDS = 0
    smtp_sink.defer_rcpt = 10
    (touch,) = make_touches(1)

    assert deliver(touch_ids=dispatch_due()[0]) == {"retry": 1}
    assert deliver(touch_ids=dispatch_due()[0]) == {"failed": 1}

    touch.refresh_from_db()
    assert (touch.status, touch.attempts) == ("failed", 2)
    assert touch.last_error.startswith("Gave up after 2 attempts: recipient deferred: 451")
    assert dispatch_due() == []
    assert smtp_sink.total() == 0


def test_a_timeout_after_the_message_data_goes_to_review_and_is_never_resent(
    db, settings, smtp_settings, smtp_sink, make_touches
):
    settings.EMAIL_TIMEOUT = 1
    settings.TOUCH_RETRY_BASE_SECONDS = 0
    smtp_sink.answer_delay = 2  # the server keeps the message, answers after the client gave up
    (touch,) = make_touches(1)

    assert deliver(touch_ids=dispatch_due()[0]) == {"review": 1}

    touch.refresh_from_db()
    assert (touch.status, touch.attempts, touch.message_id) == ("review", 1, "")
    assert touch.last_error.startswith("No answer after the message data")
    # The server had it after all: sending again would have made it twice.
    assert dispatch_due() == []
    assert sweep_leases(now=timezone.now() + timedelta(days=1))["reclaimed"] == 0
    assert dispatch_due(now=timezone.now() + timedelta(days=1)) == []
    assert smtp_sink.counts() == dict.fromkeys(message_ids([touch]).values(), 1)


def test_a_timeout_before_the_message_data_is_retried_and_sent_once(
    db, settings, smtp_settings, smtp_sink, make_touches
):
    settings.EMAIL_TIMEOUT = 1
    settings.TOUCH_RETRY_BASE_SECONDS = 0
    smtp_sink.slow_rcpt, smtp_sink.rcpt_delay = 1, 2  # the first RCPT answers too late
    (touch,) = make_touches(1)

    assert deliver(touch_ids=dispatch_due()[0]) == {"retry": 1}
    touch.refresh_from_db()
    assert (touch.status, touch.attempts) == ("scheduled", 1)
    assert "SMTPServerDisconnected" in touch.last_error or "timed out" in touch.last_error

    assert deliver(touch_ids=dispatch_due()[0]) == {"sent": 1}
    touch.refresh_from_db()
    assert (touch.status, touch.attempts) == ("sent", 2)
    assert smtp_sink.counts() == dict.fromkeys(message_ids([touch]).values(), 1)
