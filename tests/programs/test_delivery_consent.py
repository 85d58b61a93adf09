"""Consent withdrawn between the claim and the send is honoured at the send."""

import json

from customers.models import Channel
from customers.records import set_consent
from programs.delivery import deliver
from programs.dispatch import dispatch_due
from programs.models import Enrollment, Touch


def _claim_then_withdraw(touch: Touch) -> list[int]:
    (batch,) = dispatch_due()
    assert batch == [touch.pk]
    set_consent(customer=touch.customer, channel=Channel.EMAIL, granted=False, source="test")
    return batch


def test_withdrawn_consent_is_not_sent(db, smtp_settings, smtp_sink, make_touches):
    (touch,) = make_touches(1, consents=(Channel.EMAIL, Channel.SMS))
    batch = _claim_then_withdraw(touch)

    outcome = deliver(touch_ids=batch)

    touch.refresh_from_db()
    assert outcome == {"skipped": 1}
    assert (touch.status, touch.last_error) == ("skipped", "Consent withdrawn on every channel.")
    assert smtp_sink.total() == 0
    assert dispatch_due() == []


def test_withdrawing_the_last_consent_skips_and_ends_the_enrollment(
    db, smtp_settings, smtp_sink, make_touches
):
    (touch,) = make_touches(1, consents=(Channel.EMAIL,))
    batch = _claim_then_withdraw(touch)

    deliver(touch_ids=batch)

    touch.refresh_from_db()
    enrollment = Enrollment.objects.get(pk=touch.enrollment_id)
    assert (touch.status, touch.last_error) == ("skipped", "Unsubscribed from every channel.")
    assert (enrollment.status, enrollment.exit_reason) == (
        "exited",
        "unsubscribed from every channel",
    )
    assert smtp_sink.total() == 0


def test_withdrawn_consent_falls_back_to_the_next_consented_channel(
    db, settings, smtp_settings, smtp_sink, make_touches, tmp_path
):
    settings.SMS_BACKEND = "programs.channels.sms.FileBackend"
    settings.SMS_FILE_PATH = str(tmp_path / "sms.jsonl")
    (touch,) = make_touches(1, consents=(Channel.EMAIL, Channel.SMS), fallbacks=(Channel.SMS,))
    batch = _claim_then_withdraw(touch)

    assert deliver(touch_ids=batch) == {"fallback": 1}
    touch.refresh_from_db()
    assert (touch.status, touch.channel) == ("scheduled", "sms")
    (sms_batch,) = dispatch_due()
    assert deliver(touch_ids=sms_batch) == {"sent": 1}

    touch.refresh_from_db()
    sent = [json.loads(line) for line in (tmp_path / "sms.jsonl").read_text().splitlines()]
    assert (touch.status, touch.channel, touch.message_id) == ("sent", "sms", sent[0]["id"])
    assert [message["to"] for message in sent] == [touch.customer.phone]
    assert smtp_sink.total() == 0
