"""Inviting a saved segment, a topic's customers or the list's filters: a run carried out by a
Celery task in batches, off the request, its progress on the event page; each customer once."""

import threading
from datetime import timedelta

import pytest
from django.db import connections
from django.utils import timezone

from bonding.celery import app
from customers.models import Segment, Topic
from events import invite_runs, services, tasks
from events.models import Invitation, InviteRun
from tests.factories import CustomerFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def eager():
    """Tasks run where they are queued (after the request's transaction commits)."""
    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = False


def test_a_topic_run_invites_its_customers_in_batches_each_once(make_event, marketer):
    event = make_event(capacity=None)
    news = Topic.objects.create(name="Events near me")
    chose = [CustomerFactory(consent_email=True) for _ in range(5)]
    for customer in chose:
        customer.topics.add(news)
    CustomerFactory(consent_email=True)  # did not choose the topic
    Invitation.objects.create(event=event, customer=chose[0], token="already-there")

    run = invite_runs.start(event=event, by=marketer, topic=news)
    invite_runs.carry_out(run.pk, batch_size=2)

    run.refresh_from_db()
    assert (run.status, run.total, run.done, run.invited, run.skipped) == ("done", 5, 5, 4, 1)
    assert set(Invitation.objects.filter(event=event).values_list("customer", flat=True)) == {
        c.pk for c in chose
    }
    # A second run of the same topic invites nobody again.
    again = invite_runs.start(event=event, by=marketer, topic=news)
    invite_runs.carry_out(again.pk, batch_size=2)
    again.refresh_from_db()
    assert (again.invited, again.skipped) == (0, 5)
    assert Invitation.objects.filter(event=event).count() == 5


def test_a_segment_run_invites_the_segments_customers(make_event, marketer):
    event = make_event(capacity=None)
    b2b = [CustomerFactory(consent_email=True, audience="b2b") for _ in range(3)]
    CustomerFactory(consent_email=True, audience="b2c")
    segment = Segment.objects.create(owner=marketer, name="Firms", filters={"audience": ["b2b"]})

    run = invite_runs.start(event=event, by=marketer, segment=segment)
    invite_runs.carry_out(run.pk)

    run.refresh_from_db()
    assert (run.status, run.total, run.invited) == ("done", 3, 3)
    assert set(Invitation.objects.values_list("customer", flat=True)) == {c.pk for c in b2b}


def test_a_run_stops_with_the_reason_when_the_event_is_cancelled_meanwhile(make_event, marketer):
    event = make_event()
    news = Topic.objects.create(name="Product news")
    CustomerFactory(consent_email=True).topics.add(news)
    run = invite_runs.start(event=event, by=marketer, topic=news)
    event.status = "cancelled"
    event.save()

    invite_runs.carry_out(run.pk)

    run.refresh_from_db()
    assert run.status == InviteRun.Status.STOPPED and "Open the event" in run.problem
    assert not Invitation.objects.exists()


def test_the_page_queues_a_run_that_the_task_carries_out_and_shows_progress(
    client, marketer, make_event, eager, django_capture_on_commit_callbacks
):
    event = make_event(capacity=None)
    news = Topic.objects.create(name="Tips")
    for _ in range(3):
        CustomerFactory(consent_email=True).topics.add(news)
    client.force_login(marketer)

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(f"/events/{event.pk}/invite/", {"topic": news.pk})

    assert response.status_code == 302
    assert Invitation.objects.filter(event=event).count() == 3
    page = client.get(f"/events/{event.pk}/").content.decode()
    assert "Inviting those who chose “Tips”: <strong>Done</strong>" in page
    assert "3 of 3 handled · 3 invited · 0 skipped" in page
    progress = client.get(f"/events/{event.pk}/invite/progress/")
    assert progress.status_code == 200 and 'value="100"' in progress.content.decode()


def test_a_run_is_described_in_the_readers_language_and_in_english_to_the_api(
    client, marketer, make_event
):
    event = make_event(capacity=None)
    segment = Segment.objects.create(owner=marketer, name="Firms", filters={"audience": ["b2b"]})
    run = invite_runs.start(event=event, by=marketer, segment=segment)
    segment.delete()  # the run still says whom it chose
    client.force_login(marketer)

    german = client.get(f"/events/{event.pk}/", HTTP_ACCEPT_LANGUAGE="de").content.decode()
    spanish = client.get(f"/events/{event.pk}/", HTTP_ACCEPT_LANGUAGE="es").content.decode()

    assert "Einladen: Segment „Firms“" in german
    assert "Invitando a los clientes del segmento «Firms»" in spanish
    run.refresh_from_db()
    assert run.described == "segment “Firms”"


def test_the_page_refuses_an_unknown_topic_and_account_managers(
    client, marketer, manager, make_event
):
    event = make_event()
    client.force_login(marketer)
    assert client.post(f"/events/{event.pk}/invite/", {"topic": "999"}).status_code == 400
    assert client.post(f"/events/{event.pk}/invite/", {"segment": "x"}).status_code == 400
    assert client.post(f"/events/{event.pk}/invite/").status_code == 400  # no filters
    client.force_login(manager)
    assert client.post(f"/events/{event.pk}/invite/", {"topic": "1"}).status_code == 403
    assert not InviteRun.objects.exists()


def test_the_list_filters_queue_a_run_with_no_cap(
    client, marketer, make_event, eager, django_capture_on_commit_callbacks
):
    event = make_event(capacity=None)
    for _ in range(3):
        CustomerFactory(consent_email=True, audience="b2b")
    CustomerFactory(consent_email=True, audience="b2c")
    client.force_login(marketer)

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(f"/events/{event.pk}/invite/?audience=b2b")

    assert response.status_code == 302
    run = InviteRun.objects.get()
    assert (run.filters, run.invited) == ({"audience": ["b2b"]}, 3)


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("same_run", [False, True], ids=["two-runs", "one-run-resumed-beside"])
def test_two_runs_of_the_same_topic_at_once_invite_each_customer_once(
    make_event, marketer, monkeypatch, same_run
):
    # The runs are carried out by the threads below, not queued to a broker no worker reads.
    monkeypatch.setattr(tasks.invite_run_task, "delay", lambda run_id: None)
    event = make_event(capacity=None)
    news = Topic.objects.create(name="Owners' club")
    for _ in range(6):
        CustomerFactory(consent_email=True).topics.add(news)
    runs = [invite_runs.start(event=event, by=marketer, topic=news) for _ in range(2)]
    if same_run:
        # A run resumed by the sweep while its first worker is still at it: counted once.
        runs = [runs[0], runs[0]]
    start = threading.Barrier(2)
    errors = []

    def carry_out(run: InviteRun) -> None:
        try:
            start.wait(timeout=10)
            invite_runs.carry_out(run.pk, batch_size=2)
        except Exception as error:  # reported below
            errors.append(error)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=carry_out, args=(run,)) for run in runs]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert errors == []
    assert Invitation.objects.filter(event=event).count() == 6
    done = InviteRun.objects.filter(pk__in=[r.pk for r in runs])
    assert sum(done.values_list("invited", flat=True)) == 6
    assert set(done.values_list("status", flat=True)) == {"done"}
    if same_run:
        assert done.get().done == 6


def test_the_invite_page_and_the_progress_run_few_queries(
    client, marketer, make_event, django_assert_num_queries
):
    event = make_event()
    Topic.objects.create(name="Tips")
    Segment.objects.create(owner=marketer, name="Firms", filters={"audience": ["b2b"]})
    client.force_login(marketer)

    # session, user, groups, event, the bounded count, segments, topics, and what the list
    # filter's form reads for its choices
    with django_assert_num_queries(10):
        page = client.get(f"/events/{event.pk}/invite/", {"audience": "b2b"})
    assert page.status_code == 200
    assert "Invite the segment" in page.content.decode()

    # session, user, groups, event, runs
    with django_assert_num_queries(5):
        assert client.get(f"/events/{event.pk}/invite/progress/").status_code == 200


def _left_running(run: InviteRun, *, cursor: int, done: int, beat_ago: timedelta) -> None:
    """As a worker that died after `done` customers (up to `cursor`) leaves a run."""
    InviteRun.objects.filter(pk=run.pk).update(
        status=InviteRun.Status.RUNNING,
        cursor=cursor,
        done=done,
        invited=done,
        heartbeat_at=timezone.now() - beat_ago,
    )


def test_the_sweep_finishes_a_run_whose_worker_died_and_leaves_a_live_one(
    make_event, marketer, eager, django_capture_on_commit_callbacks
):
    event = make_event(capacity=None)
    news = Topic.objects.create(name="Owners' club")
    chose = [CustomerFactory(consent_email=True) for _ in range(5)]
    for customer in chose:
        customer.topics.add(news)
    stale = invite_runs.start(event=event, by=marketer, topic=news)
    # The dead worker had invited the first two.
    services.invite(event=event, customers=chose[:2], by=marketer)
    _left_running(stale, cursor=chose[1].pk, done=2, beat_ago=timedelta(minutes=10))
    live = invite_runs.start(event=make_event(capacity=None), by=marketer, topic=news)
    _left_running(live, cursor=0, done=0, beat_ago=timedelta(seconds=30))

    with django_capture_on_commit_callbacks(execute=True):
        assert invite_runs.resume_stale() == [stale.pk]

    stale.refresh_from_db()
    assert (stale.status, stale.done, stale.invited, stale.skipped) == ("done", 5, 5, 0)
    assert sorted(
        Invitation.objects.filter(event=event).values_list("customer", flat=True)
    ) == sorted(c.pk for c in chose)
    live.refresh_from_db()
    assert (live.status, live.done) == ("running", 0)
    assert not Invitation.objects.filter(event=live.event).exists()
    # An hour on, only the live run (had its worker died) is stale: a finished one never is.
    assert invite_runs.resume_stale(now=timezone.now() + timedelta(hours=1)) == [live.pk]


def test_a_queued_run_whose_task_never_ran_is_resumed_once(
    make_event, marketer, monkeypatch, django_capture_on_commit_callbacks
):
    queued = []
    monkeypatch.setattr(tasks.invite_run_task, "delay", queued.append)
    news = Topic.objects.create(name="Tips")
    CustomerFactory(consent_email=True).topics.add(news)
    run = invite_runs.start(event=make_event(capacity=None), by=marketer, topic=news)
    later = timezone.now() + timedelta(minutes=6)

    with django_capture_on_commit_callbacks(execute=True):
        assert invite_runs.resume_stale(now=later) == [run.pk]
        # The heartbeat moved: the next sweep leaves it to the worker it was handed to.
        assert invite_runs.resume_stale(now=later + timedelta(seconds=60)) == []
    assert queued == [run.pk]


def test_beat_runs_the_sweep_every_minute():
    entry = app.conf.beat_schedule["resume-invite-runs"]
    assert entry["task"] == tasks.resume_invite_runs_task.name
    assert entry["schedule"] == 60.0
