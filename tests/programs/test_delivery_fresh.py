"""What changes after a batch was read and before a touch is claimed is honoured: the
customer's new address, and sends by other workers under the frequency cap."""

import pytest
from django.core import mail
from django.utils import timezone

from customers.models import Customer
from programs import content
from programs.delivery import deliver
from programs.dispatch import dispatch_due
from programs.models import Touch


@pytest.fixture
def after_the_read(monkeypatch):
    """Run a change once the batch has read its touches, customers and recent sends."""

    def run(change):
        real = content.gather_facts

        def gather_then_change(touches):
            facts = real(touches)
            change()
            return facts

        monkeypatch.setattr(content, "gather_facts", gather_then_change)

    return run


def test_a_new_address_is_used_not_the_one_read_with_the_batch(
    db, settings, make_touches, after_the_read
):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    (touch,) = make_touches(1)
    after_the_read(
        lambda: Customer.objects.filter(pk=touch.customer_id).update(email="new@example.com")
    )
    (batch,) = dispatch_due()

    assert deliver(touch_ids=batch) == {"sent": 1}
    assert [message.to for message in mail.outbox] == [["new@example.com"]]


def test_a_send_by_another_worker_meanwhile_counts_against_the_cap(
    db, settings, make_touches, after_the_read
):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    settings.FREQUENCY_CAP_TOUCHES = 1
    (touch,) = make_touches(1)
    now = timezone.now()
    after_the_read(
        lambda: Touch.objects.create(
            enrollment_id=touch.enrollment_id,
            step_id=touch.step_id,
            occurrence=2,
            customer_id=touch.customer_id,
            due_at=now,
            channel=touch.channel,
            status=Touch.Status.SENT,
            sent_at=now,
        )
    )
    (batch,) = dispatch_due()

    assert deliver(touch_ids=batch) == {"deferred": 1}
    assert mail.outbox == []
    touch.refresh_from_db()
    assert (touch.status, touch.last_error) == ("scheduled", "Deferred by the frequency cap.")
    assert touch.due_at > now
