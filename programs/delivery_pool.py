"""A delivery batch's texts handed to the provider over a few connections at once.

A provider's API answers each message in a round trip; on one connection the worker waits
for it, and the database waits too. Here the worker's own thread does all the database work
in the batch's order, as on one connection (each touch claimed by its conditional update,
rendered, recorded sent with the next claim's statement), and only the hand-over runs on
`width` threads, each with a connection (backend) of its own. At most `width` touches are in
sending without an answer where one connection had one: a crash then sends those to review
like any touch the provider may have, never to the provider again.
"""

import contextlib
import queue
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from datetime import timedelta

from django.conf import settings
from django.db import connection
from django.utils import timezone

from programs import content
from programs import delivery as one
from programs.channels import Message, TransientError
from programs.models import Touch
from programs.placement import frequency_cap
from programs.sql import RECORD_SENT_MANY, run


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
            for _ in range(width):
                self.backends.put(stack.enter_context(self.module.open()))
            pool = stack.enter_context(ThreadPoolExecutor(max_workers=width))
            try:
                for touch in group:
                    self._answered([future for future in self.in_flight if future.done()])
                    if len(self.in_flight) >= width:
                        self._answered(wait(self.in_flight, return_when=FIRST_COMPLETED).done)
                    self._next(touch, pool)
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

    def _next(self, touch: Touch, pool: ThreadPoolExecutor) -> None:
        """Claim the touch (recording those answered sent since) and hand it to a connection;
        one the claim cannot take goes the slow way, on the worker's own connection."""
        now = timezone.now()
        lease = now + timedelta(seconds=settings.TOUCH_LEASE_SECONDS)
        customer = touch.customer
        claimed = (
            touch.pk in self.ready_ids
            and self.recent.get(customer.pk, 0) < frequency_cap(customer.frequency).max_touches
            and one._claim_to_send(touch, lease, self.unrecorded)
        )
        self._record()  # those the claim's statement did not (it was not run)
        if not claimed:
            outcome = one._deliver_one_slowly(touch, self.module, self.session)
            if outcome in (Touch.Status.SENT, Touch.Status.WAITING):
                self.recent[customer.pk] = self.recent.get(customer.pk, 0) + 1
            self._count(touch, outcome)
            return
        touch.attempts += 1
        touch.status = Touch.Status.SENDING
        try:
            message = content.message_for(
                touch=touch, customer=customer, channel=touch.channel, facts=self.facts
            )
        except Exception as error:
            self._count(touch, one._not_sent(touch, error, now))
            return
        # Counted as it goes out: the batch's next touch to the customer sees it.
        self.recent[customer.pk] = self.recent.get(customer.pk, 0) + 1
        self.in_flight[pool.submit(self._hand_over, message)] = (touch, message)

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
