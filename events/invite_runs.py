"""Inviting many customers at once, off the request: a run remembers whom (a saved segment, a
topic, or the customer list's filters) and a Celery task invites them in batches through
`services.invite` (audience, channel, consent, send window, frequency cap), noting its progress
after each batch for the event page. Each customer is invited once, however many runs overlap."""

import logging
from datetime import datetime, timedelta
from functools import partial

from django.conf import settings
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils import timezone, translation
from django.utils.translation import gettext

from customers import queries as customer_queries
from customers.filters import CustomerFilter, as_query, segment_customers
from customers.models import Customer, Segment, Topic
from customers.segments import clean_filters
from events import services
from events.models import Event, InviteRun

# Customers invited per transaction: small enough that answers to the event (which lock its
# row) wait little, big enough that a run of 100,000 takes a few hundred batches.
BATCH_SIZE = 500
UNFINISHED = (InviteRun.Status.QUEUED, InviteRun.Status.RUNNING)

logger = logging.getLogger(__name__)


def start(
    *,
    event: Event,
    by: User,
    segment: Segment | None = None,
    topic: Topic | None = None,
    filters: dict[str, list[str]] | None = None,
) -> InviteRun:
    """Queue the invitation of a segment, a topic's customers or the list's filters; the task
    starts once this transaction commits. ValidationError when the event takes no invitations
    or the choice is not one thing."""
    chosen = [c for c in (segment, topic, filters) if c]
    if len(chosen) != 1:
        raise ValidationError(
            {"customers": [gettext("Choose one: a segment, a topic, or filters.")]}
        )
    if event.status != Event.Status.OPEN:
        raise ValidationError({"event": [gettext("Open the event before inviting anyone.")]})
    if event.starts_at <= timezone.now():
        raise ValidationError(
            {"event": [gettext("This event has started: it takes no invitations.")]}
        )
    if segment is not None:
        chosen, name = InviteRun.Chosen.SEGMENT, segment.name
    elif topic is not None:
        chosen, name = InviteRun.Chosen.TOPIC, topic.name
    else:
        filters = clean_filters(as_query(filters or {}))
        chosen, name = InviteRun.Chosen.FILTERS, ""
    run = InviteRun(
        event=event,
        requested_by=by,
        segment=segment,
        topic=topic,
        filters=filters or {},
        chosen=chosen,
        chosen_name=name[:200],
    )
    # The API's words stay English, like every record it returns; pages say `description`.
    with translation.override("en"):
        run.described = run.description[:200]
    run.total = chosen_customers(run).order_by().count()
    run.save()
    from events.tasks import invite_run_task  # tasks import this module

    transaction.on_commit(partial(invite_run_task.delay, run.pk))
    return run


def chosen_customers(run: InviteRun) -> QuerySet[Customer]:
    """The customers a run invites: among those its requester sees (a segment among its
    owner's too), live ones only."""
    assert run.requested_by is not None
    seen = customer_queries.visible_customers(run.requested_by)
    if run.segment_id:
        assert run.segment is not None
        return seen.filter(pk__in=segment_customers(run.segment).order_by().values("pk"))
    if run.topic_id:
        return seen.filter(topics=run.topic_id)
    if run.filters:
        checked = CustomerFilter(as_query(run.filters), queryset=seen)
        return checked.qs if checked.is_valid() else Customer.objects.none()
    return Customer.objects.none()


def carry_out(run_id: int, *, batch_size: int = BATCH_SIZE, now: datetime | None = None) -> None:
    """Invite a run's customers batch by batch (by id, after its cursor), noting progress and a
    heartbeat after each; a run already finished is left alone, a run picked up again goes on
    where it was. Each batch holds the run's row, so a worker resuming a run beside one still
    alive goes on after the other's cursor: nobody is counted twice."""
    run = InviteRun.objects.select_related("event", "segment__owner", "requested_by").get(pk=run_id)
    if run.status in (InviteRun.Status.DONE, InviteRun.Status.STOPPED):
        return
    if run.requested_by is None or (
        run.segment_id is None and run.topic_id is None and not run.filters
    ):
        # The requester or the segment/topic was deleted meanwhile: nobody to invite.
        _finish(run, InviteRun.Status.STOPPED, "The segment, topic or requester is gone.")
        return
    InviteRun.objects.filter(pk=run.pk, status__in=UNFINISHED).update(
        status=InviteRun.Status.RUNNING, heartbeat_at=timezone.now()
    )
    customers = chosen_customers(run).select_related("tier").order_by("pk")
    while _next_batch(run, customers, batch_size=batch_size, now=now):
        pass


def _next_batch(
    run: InviteRun, customers: QuerySet[Customer], *, batch_size: int, now: datetime | None
) -> bool:
    """Invite the batch after the run's cursor in one transaction; False once the run is over."""
    assert run.requested_by is not None
    with transaction.atomic():
        held = (
            InviteRun.objects.select_for_update()
            .only("status", "cursor", "done", "invited", "skipped", "total")
            .get(pk=run.pk)
        )
        if held.status != InviteRun.Status.RUNNING:
            return False  # another worker finished it meanwhile
        batch = list(customers.filter(pk__gt=held.cursor)[:batch_size])
        if not batch:
            _finish(held, InviteRun.Status.DONE, "")
            return False
        try:
            outcome = services.invite(
                event=run.event, customers=batch, by=run.requested_by, now=now
            )
        except ValidationError as error:
            # The event closed, was cancelled or started meanwhile.
            _finish(held, InviteRun.Status.STOPPED, " ".join(error.messages))
            return False
        held.cursor = batch[-1].pk
        held.done += len(batch)
        held.invited += len(outcome.invited)
        held.skipped += len(outcome.skipped)
        # The count at the start may be passed by customers who joined the selection since.
        held.total = max(held.total, held.done)
        held.heartbeat_at = timezone.now()
        held.save(update_fields=["cursor", "done", "invited", "skipped", "total", "heartbeat_at"])
    return True


def resume_stale(*, now: datetime | None = None) -> list[int]:
    """Queue again the runs unfinished and not advanced for settings.INVITE_RUN_LEASE_SECONDS
    (their worker died, or their task never reached one); they go on after their cursor. Each is
    claimed by moving its heartbeat, so sweeps side by side queue it once. Returns their ids."""
    now = now or timezone.now()
    cutoff = now - timedelta(seconds=settings.INVITE_RUN_LEASE_SECONDS)
    stale = Q(heartbeat_at__lt=cutoff) | Q(heartbeat_at__isnull=True, created_at__lt=cutoff)
    from events.tasks import invite_run_task  # tasks import this module

    resumed = []
    candidates = InviteRun.objects.filter(stale, status__in=UNFINISHED).order_by("pk")
    for run_id in candidates.values_list("pk", flat=True):
        claimed = InviteRun.objects.filter(stale, pk=run_id, status__in=UNFINISHED).update(
            heartbeat_at=now
        )
        if claimed:
            resumed.append(run_id)
            transaction.on_commit(partial(invite_run_task.delay, run_id))
    if resumed:
        logger.warning("invite runs resumed after their worker stopped: %s", resumed)
    return resumed


def _finish(run: InviteRun, status: str, problem: str) -> None:
    run.status, run.problem, run.finished_at = status, problem[:300], timezone.now()
    run.save(update_fields=["status", "problem", "finished_at"])
