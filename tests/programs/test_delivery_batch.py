"""`deliver` in this process against a real SMTP sink: one connection per batch, and a touch
being sent is never picked again."""

import threading

from django.db import connections

from programs.delivery import deliver
from programs.dispatch import dispatch_due, sweep_leases
from programs.models import Touch
from tests.programs.conftest import message_ids, wait_until


def test_one_smtp_connection_serves_a_whole_batch(db, smtp_settings, smtp_sink, make_touches):
    touches = make_touches(25)
    batches = dispatch_due()
    assert [len(batch) for batch in batches] == [25]

    outcome = deliver(touch_ids=batches[0])

    assert outcome == {"sent": 25}
    assert smtp_sink.counts() == dict.fromkeys(message_ids(touches).values(), 1)
    assert smtp_sink.sessions == 1


def test_a_touch_being_sent_is_not_picked_again(
    transactional_db, smtp_settings, smtp_sink, make_touches
):
    (touch,) = make_touches(1)
    (batch,) = dispatch_due()
    smtp_sink.hold = threading.Event()
    outcomes = []

    def send_in_another_worker() -> None:
        try:
            outcomes.append(deliver(touch_ids=batch))
        finally:
            connections.close_all()

    sender = threading.Thread(target=send_in_another_worker)
    sender.start()
    try:
        wait_until(
            lambda: Touch.objects.filter(pk=touch.pk, status=Touch.Status.SENDING).exists(),
            timeout=10,
            what="the touch to be in the provider's hands",
        )
        # While it is being sent: no dispatcher claims it, no delivery (a duplicate task) sends
        # it, and the sweeper leaves it alone while its lease runs.
        assert dispatch_due() == []
        assert deliver(touch_ids=batch) == {}
        assert sweep_leases() == {"reclaimed": 0, "review": 0, "settled": 0}
    finally:
        smtp_sink.hold.set()
        sender.join(timeout=30)

    touch.refresh_from_db()
    assert outcomes == [{"sent": 1}]
    assert touch.status == Touch.Status.SENT
    assert touch.attempts == 1
    assert smtp_sink.counts() == {message_ids([touch])[touch.pk]: 1}


def test_a_touch_whose_sending_lease_ran_out_goes_to_review_and_stays_there(
    transactional_db, settings, smtp_settings, smtp_sink, make_touches
):
    settings.TOUCH_LEASE_SECONDS = 1
    (touch,) = make_touches(1)
    (batch,) = dispatch_due()
    smtp_sink.hold = threading.Event()
    sender = threading.Thread(target=lambda: (deliver(touch_ids=batch), connections.close_all()))
    sender.start()
    try:
        wait_until(
            lambda: sweep_leases()["review"],
            timeout=10,
            what="the sweeper to send the stuck touch to review",
        )
    finally:
        smtp_sink.hold.set()
        sender.join(timeout=30)

    touch.refresh_from_db()
    # The late "sent" of the slow worker does not overwrite the sweeper's verdict, and a
    # touch in review is never dispatched again.
    assert touch.status == Touch.Status.REVIEW
    assert "check whether it arrived" in touch.last_error
    assert dispatch_due() == []
    assert deliver(touch_ids=batch) == {}
    assert smtp_sink.counts() == {message_ids([touch])[touch.pk]: 1}
