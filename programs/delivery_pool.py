"""A delivery batch's texts handed to the provider over a few connections at once.

A provider's API answers each message in a round trip; on one connection the worker waits
for it, and the database waits too. Here the worker's own thread does all the database work
in the batch's order, as on one connection (touches claimed by a conditional update, as many
in one statement as there are free connections, rendered, recorded sent with the next
claim's statement), and only the hand-over runs on `width` threads, each with a connection
(backend) of its own. At most `width` touches are in
sending without an answer where one connection had one: a crash then sends those to review
like any touch the provider may have, never to the provider again.
"""

import contextlib
import queue
import sys
from collections.abc import Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from datetime import timedelta

from django.conf import settings
from django.db import connection
from django.utils import timezone

from programs import content
from programs import delivery as one
from programs.channels import Message, TransientError
from programs.models import Enrollment, Touch
from programs.placement import address_for, frequency_cap
from programs.sql import CLAIM_MANY_TO_SEND, RECORD_SENT_MANY, run

# How long a thread may keep the interpreter while another waits for it (CPython's default:
# 5 ms). The hand-overs are Python too (the Twilio client on the pool's threads): back from
# the database with the next claim, the worker's thread waited for them, while the texts
# in flight ran out. bench/sms.py, 2 cores: about a tenth more texts a second at 0.5 ms.
SWITCH_INTERVAL = 0.0005


@contextlib.contextmanager
def prompt_switching() -> Iterator[None]:
    """The shorter switch interval while a batch's texts go out (a worker process delivers one
    batch at a time; the interval is the process's)."""
    previous = sys.getswitchinterval()
    sys.setswitchinterval(min(previous, SWITCH_INTERVAL))
    try:
        yield
    finally:
        sys.setswitchinterval(previous)


class Pool:
    """One channel's touches of a batch over `width` connections; like the loop over one
    connection it adds to `counts` and to `sent` (what deliver() carries into a retry)."""

    def __init__(self, *, module, session, facts, ready_ids, recent, counts, sent) -> None:
        self.module, self.session, self.facts = module, session, facts
        self.ready_ids, self.recent, self.counts, self.sent = ready_ids, recent, counts, sent
        self.backends: queue.SimpleQueue = queue.SimpleQueue()
        self.in_flight: dict[Future, tuple[Touch, Message]] = {}
        self.unrecorded: list[Touch] = []  # answered sent, recorded with the next claim

    def deliver(self, width: int, group: list[Touch]) -> None:
        with contextlib.ExitStack() as stack:
            stack.enter_context(prompt_switching())
            for _ in range(width):
                self.backends.put(stack.enter_context(self.module.open()))
            pool = stack.enter_context(ThreadPoolExecutor(max_workers=width))
            waiting = list(reversed(group))  # the batch's order, taken from the end
            # Claimed a few at a time (half the connections): one statement per touch would
            # keep the database busier than the provider.
            chunk = max(1, width // 2)
            try:
                while waiting:
                    self._answered([future for future in self.in_flight if future.done()])
                    while len(self.in_flight) > width - chunk:
                        self._answered(wait(self.in_flight, return_when=FIRST_COMPLETED).done)
                    self._next(waiting, width - len(self.in_flight), pool)
                while self.in_flight:
                    self._answered(wait(self.in_flight).done)
            except BaseException as error:
                self._interrupted(error)
                raise
            self._record()

    def _hand_over(self, message: Message):
        """On a pool thread: no database here, only the provider."""
        backend = self.backends.get()
        try:
            return self.module.send(message, backend)
        finally:
            self.backends.put(backend)

    def _may_claim(self, touch: Touch) -> bool:
        """What the batch's reads say (the claim checks it all again)."""
        customer = touch.customer
        return (
            touch.pk in self.ready_ids
            and self.recent.get(customer.pk, 0) < frequency_cap(customer.frequency).max_touches
        )

    def _next(self, waiting: list[Touch], room: int, pool: ThreadPoolExecutor) -> None:
        """Claim the next touches, as many as there are free connections, in one statement
        (recording those answered sent since) and hand them over; one the claim cannot take
        goes the slow way, on the worker's own connection."""
        now = timezone.now()
        lease = now + timedelta(seconds=settings.TOUCH_LEASE_SECONDS)
        chunk: list[Touch] = []
        while waiting and len(chunk) < room and self._may_claim(waiting[-1]):
            if any(touch.customer_id == waiting[-1].customer_id for touch in chunk):
                break  # one customer's touches see each other only from the next statement
            chunk.append(waiting.pop())
            if connection.vendor != "postgresql":
                break  # one at a time where arrays are not at hand
        if not chunk:
            self._record()
            self._slowly(waiting.pop())
            return
        if len(chunk) == 1:
            claimed = (
                {chunk[0].pk} if one._claim_to_send(chunk[0], lease, self.unrecorded) else set()
            )
        else:
            claimed = self._claim_many(chunk, lease)
        self._record()  # those the claim's statement did not (it was not run)
        for touch in chunk:
            if touch.pk not in claimed:
                self._slowly(touch)
                continue
            touch.attempts += 1
            touch.status = Touch.Status.SENDING
            try:
                message = content.message_for(
                    touch=touch, customer=touch.customer, channel=touch.channel, facts=self.facts
                )
            except Exception as error:
                self._count(touch, one._not_sent(touch, error, now))
                continue
            # Counted as it goes out: the batch's next touch to the customer sees it.
            self.recent[touch.customer_id] = self.recent.get(touch.customer_id, 0) + 1
            self.in_flight[pool.submit(self._hand_over, message)] = (touch, message)

    def _claim_many(self, chunk: list[Touch], lease) -> set[int]:
        """Claimed -> sending for the chunk's touches that pass the checks, in one statement
        with the record of the touches answered sent since (PostgreSQL)."""
        channel = chunk[0].channel
        caps = [frequency_cap(touch.customer.frequency) for touch in chunk]
        now = timezone.now()
        sql = CLAIM_MANY_TO_SEND[channel]
        params = [
            Touch.Status.SENDING,
            lease,
            [touch.pk for touch in chunk],
            [touch.customer_id for touch in chunk],
            [address_for(touch.customer, channel) for touch in chunk],
            [touch.enrollment_id for touch in chunk],
            [now - cap.period for cap in caps],
            [cap.max_touches for cap in caps],
            Touch.Status.CLAIMED,
            Enrollment.Status.ACTIVE,
        ]
        recorded = [touch for touch in self.unrecorded if touch.status == Touch.Status.SENDING]
        if recorded:
            sql = f"WITH sent AS ({RECORD_SENT_MANY} RETURNING t.id) {sql}"
            params = [*one._many_sent_params(recorded), *params]
        rows = run(sql, params, returning=True)
        for touch in recorded:
            touch.status, touch.lease_expires_at = Touch.Status.SENT, None
        return {row[0] for row in rows}

    def _slowly(self, touch: Touch) -> None:
        outcome = one._deliver_one_slowly(touch, self.module, self.session)
        if outcome in (Touch.Status.SENT, Touch.Status.WAITING):
            self.recent[touch.customer_id] = self.recent.get(touch.customer_id, 0) + 1
        self._count(touch, outcome)

    def _answered(self, futures) -> None:
        for future in futures:
            touch, message = self.in_flight.pop(future)
            error = future.exception()
            if error is None:
                outcome = one._handed_over(touch, message, future.result())
            else:
                self.recent[touch.customer_id] -= 1
                outcome = one._not_sent(touch, error, timezone.now())  # type: ignore[arg-type]
            self._count(touch, outcome)
            if outcome == Touch.Status.SENT:
                self.unrecorded.append(touch)

    def _count(self, touch: Touch, outcome: str) -> None:
        self.counts[outcome] += 1
        if outcome == Touch.Status.SENT:
            self.sent.append(touch)

    def _record(self) -> None:
        """Sending -> sent for the answered touches still in sending here."""
        touches = [touch for touch in self.unrecorded if touch.status == Touch.Status.SENDING]
        self.unrecorded = []
        if len(touches) > 1 and connection.vendor == "postgresql":
            run(RECORD_SENT_MANY, one._many_sent_params(touches))
            for touch in touches:
                touch.status, touch.lease_expires_at = Touch.Status.SENT, None
        else:
            for touch in touches:
                one._record_sent(touch)

    def _interrupted(self, error: BaseException) -> None:
        """The database went away (or worse) with texts in flight: wait for their answers;
        the sent ones are already in `sent` or join it, for the retry to record; one never
        handed over (the provider not reached) is sent again by the retry; any other stays in
        sending for the sweeper to send to review."""
        for future in list(self.in_flight):
            touch, _ = self.in_flight.pop(future)
            problem = future.exception()
            if problem is None:
                outcome = future.result()
                touch.sent_at, touch.message_id = timezone.now(), outcome.message_id[:200]
                self.sent.append(touch)
            elif isinstance(problem, TransientError) and isinstance(error, one.DATABASE_LOST):
                error.unsent = [*getattr(error, "unsent", []), touch.pk]  # type: ignore[union-attr]
