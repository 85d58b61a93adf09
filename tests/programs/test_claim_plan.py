"""The plans the hand-tuned statements of programs/sql.py exist for, read with EXPLAIN."""

from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from customers.models import Channel
from programs.models import Enrollment, Touch
from programs.sql import CLAIM_MANY_TO_SEND, CLAIM_TO_SEND, RECORD_SENT

BURST = 3000


def plan(sql: str, params: list) -> str:
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN " + sql, params)
        return "\n".join(row[0] for row in cursor.fetchall())


@pytest.fixture
def burst(db, make_touches) -> list[Touch]:
    """A burst just dispatched: statistics taken before it (no touch claimed yet), then every
    touch claimed, the moment the claim to send runs for each of them."""
    touches = make_touches(BURST)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE programs_touch")
    Touch.objects.update(status=Touch.Status.CLAIMED, lease_expires_at=timezone.now())
    return touches


def test_the_claim_to_send_reads_the_touch_by_its_id_not_every_claimed_touch(burst):
    touch = burst[BURST // 2]
    now = timezone.now()
    params = [
        Touch.Status.SENDING,
        now,
        touch.pk,
        Touch.Status.CLAIMED,
        touch.customer_id,
        touch.customer.email,
        touch.enrollment_id,
        Enrollment.Status.ACTIVE,
        touch.customer_id,
        touch.pk,
        now - timedelta(days=7),
        3,
    ]

    shown = plan(CLAIM_TO_SEND[Channel.EMAIL], params)
    plain = CLAIM_TO_SEND[Channel.EMAIL].replace("status || '' = %s", "status = %s")

    # The trap is set: compared plainly, the planner picks the index of every claimed touch.
    assert "Index Scan using touch_leased on programs_touch" in plan(plain, params)

    assert "Index Scan using programs_touch_pkey on programs_touch" in shown, shown
    assert "touch_leased" not in shown, shown  # the index of every claimed touch
    assert "Seq Scan on programs_touch" not in shown, shown


def test_recording_a_sent_touch_reads_it_by_its_id(burst):
    touch = burst[0]
    params = [Touch.Status.SENT, timezone.now(), "<t@bonding>", touch.pk, Touch.Status.SENDING]

    shown = plan(RECORD_SENT, params)

    assert "Index Scan using programs_touch_pkey on programs_touch" in shown, shown
    assert "Seq Scan on programs_touch" not in shown, shown


def test_the_claim_of_several_reads_each_row_by_its_id(burst):
    touches = burst[BURST // 2 : BURST // 2 + 3]
    now = timezone.now()
    params = [
        Touch.Status.SENDING,
        now,
        [touch.pk for touch in touches],
        [touch.customer_id for touch in touches],
        [touch.customer.email for touch in touches],
        [touch.enrollment_id for touch in touches],
        [now - timedelta(days=7)] * 3,
        [3] * 3,
        Touch.Status.CLAIMED,
        Enrollment.Status.ACTIVE,
    ]

    shown = plan(CLAIM_MANY_TO_SEND[Channel.EMAIL], params)

    assert "Index Scan using programs_touch_pkey on programs_touch" in shown, shown
    assert "Index Cond: (id = v.customer_id)" in shown, shown  # the customer by its id
    assert "Index Cond: (id = v.enrollment_id)" in shown, shown
    assert "touch_leased" not in shown, shown
    assert "Seq Scan on programs_touch" not in shown, shown
