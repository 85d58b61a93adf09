"""The marketers' survey pages: /surveys/ (surveys and the NPS dashboard), /surveys/new/,
/surveys/<id>/ and /surveys/<id>/invite/."""

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from customers.models import FollowUp
from nps import mail, services
from nps.models import FatigueSkip, Invitation, Response, Survey
from tests.factories import nps_answers as answers
from tests.factories import person

pytestmark = pytest.mark.django_db


def a_mix(customer, owner, count: int) -> None:
    """`count` answers over the year, in two tiers and both audiences, detractors with an open
    follow-up each: every part of the dashboard has rows."""
    now = timezone.now()
    written = answers(
        customer,
        [
            {
                "score": n % 11,
                "tier_slug": ("repeat", "prospect")[n % 2],
                "audience": ("retail", "b2b")[n % 2],
                "owner_id_at_answer": owner.pk,
                "why": f"Because {n}",
                "answered_at": now - timedelta(days=n % 330),
            }
            for n in range(count)
        ],
    )
    FollowUp.objects.bulk_create(
        FollowUp(
            customer=customer,
            assignee=owner,
            due_at=now,
            reason="Detractor",
            source=f"detractor:{response.pk}",
        )
        for response in written
        if response.category == "detractor"
    )


@pytest.fixture
def survey():
    return Survey.objects.get()


@pytest.fixture
def eager():
    """Celery tasks run in the test process when queued (after the on_commit callbacks)."""
    from bonding.celery import app

    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = False


# The dashboard


def test_the_dashboard_shows_score_trend_distribution_groups_and_verbatims(
    client, marketer, manager
):
    ann = person(manager)
    a_mix(ann, manager, 12)
    client.force_login(marketer)

    response = client.get("/surveys/")

    html = response.content.decode()
    assert response.status_code == 200
    assert "Customer satisfaction benchmark" in html
    assert "vendor/chart-4.6.1.umd.min.js" in html
    assert 'id="nps-trend-data"' in html and 'id="nps-distribution-data"' in html
    assert "NPS by month, with the 95 % interval" in html
    assert "Answers per score" in html
    assert "Repeat customer" in html and "B2B" in html
    assert "too small to trust" in html
    assert "Because 11" in html
    assert f'href="/customers/{ann.pk}/"' in html


def test_the_chart_library_is_only_on_the_dashboard(client, marketer, survey):
    client.force_login(marketer)

    html = client.get(f"/surveys/{survey.pk}/").content.decode()

    assert "chart-4.6.1" not in html


def test_the_dashboard_runs_a_fixed_number_of_queries(
    client, marketer, manager, django_assert_max_num_queries
):
    ann = person(manager)
    a_mix(ann, manager, 3)
    client.force_login(marketer)
    # session, user, roles, then one query per figure: verbatims, months, overall, spread,
    # 4 groupings (+ tier and owner names), response rate, detractors, surveys.
    with django_assert_max_num_queries(16) as few:
        client.get("/surveys/")
    queries_for_three = len(few)

    a_mix(person(manager, 2), manager, 297)
    with django_assert_max_num_queries(queries_for_three):
        response = client.get("/surveys/")

    assert response.status_code == 200
    assert Response.objects.count() == 300


def test_verbatims_filter_by_category_and_words(client, marketer, manager):
    answers(
        person(manager),
        [
            {"score": 2, "why": "Slow delivery"},
            {"score": 10, "why": "Fast delivery"},
            {"score": 3, "why": "Rude staff"},
        ],
    )
    client.force_login(marketer)

    html = client.get("/surveys/", {"category": "detractor", "q": "delivery"}).content.decode()

    assert "Slow delivery" in html
    assert "Fast delivery" not in html and "Rude staff" not in html


def test_verbatims_come_as_a_fragment_for_htmx(client, marketer, manager):
    answers(person(manager), [{"score": 2, "why": "Slow delivery"}])
    client.force_login(marketer)

    response = client.get("/surveys/", {"q": "slow"}, headers={"HX-Request": "true"})

    html = response.content.decode()
    assert html.lstrip().startswith('<div id="verbatims">')
    assert "Slow delivery" in html and "<html" not in html


@pytest.mark.parametrize(
    "url", ["/surveys/", "/surveys/new/", "/surveys/{pk}/", "/surveys/{pk}/invite/"]
)
def test_account_managers_may_not_open_the_survey_pages(client, manager, survey, url):
    client.force_login(manager)

    response = client.get(url.format(pk=survey.pk))

    assert response.status_code == 403


def test_an_account_manager_may_not_invite(client, manager, survey):
    person(manager)
    client.force_login(manager)

    response = client.post(f"/surveys/{survey.pk}/invite/")

    assert response.status_code == 403
    assert not Invitation.objects.exists()


# Surveys


def test_a_marketer_creates_a_survey(client, marketer):
    client.force_login(marketer)

    response = client.post(
        "/surveys/new/",
        {
            "name": "After delivery",
            "question_score": "Would you recommend us?",
            "question_why": "Why?",
            "question_improve": "What would earn a 10?",
            "premium": "A coffee",
            "ask_preferred_channel": "on",
            "is_active": "on",
            "valid_days": "14",
        },
    )

    survey = Survey.objects.get(name="After delivery")
    assert response.status_code == 302
    assert (survey.premium, survey.ask_preferred_channel, survey.valid_days) == (
        "A coffee",
        True,
        14,
    )


def test_editing_a_survey_pauses_it_and_checks_the_days(client, marketer, survey):
    client.force_login(marketer)
    fields = {
        "name": survey.name,
        "question_score": "How likely…?",
        "question_why": "Why?",
        "question_improve": "And?",
        "premium": "",
        "valid_days": "30",
    }

    bad = client.post(f"/surveys/{survey.pk}/", {**fields, "valid_days": "0"})
    good = client.post(f"/surveys/{survey.pk}/", fields)

    survey.refresh_from_db()
    assert bad.status_code == 400
    assert good.status_code == 302
    assert (survey.question_score, survey.is_active) == ("How likely…?", False)


def test_survey_forms_need_the_csrf_token(marketer):
    client = Client(enforce_csrf_checks=True)
    client.force_login(marketer)

    page = client.get("/surveys/new/")
    response = client.post("/surveys/new/", {"name": "Sneaky", "valid_days": "10"})

    assert "csrfmiddlewaretoken" in page.content.decode()
    assert response.status_code == 403
    assert not Survey.objects.filter(name="Sneaky").exists()


# Inviting a segment


def test_the_invite_page_counts_the_matching_customers(client, marketer, manager, survey):
    person(manager, 1, first_name="Ann")
    person(manager, 2, first_name="Bob")
    client.force_login(marketer)

    response = client.get(f"/surveys/{survey.pk}/invite/", {"q": "ann"})

    assert response.status_code == 200
    assert "1 customer matches" in response.content.decode()


def test_inviting_a_segment_emails_the_eleven_score_links_and_reports_skips(
    client,
    marketer,
    manager,
    survey,
    eager,
    mailoutbox,
    settings,
    django_capture_on_commit_callbacks,
):
    emailed = person(manager, 1)
    no_consent = person(manager, 2, consent_email=False)
    by_sms = person(manager, 3, phone="+14155552671", consent_sms=True, preferred_channel="sms")
    asked_lately = person(manager, 4)
    services.invite(survey=survey, customers=[asked_lately])
    client.force_login(marketer)

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(f"/surveys/{survey.pk}/invite/?owner=manager", follow=True)

    invitation = Invitation.objects.get(customer=emailed)
    # Only those the e-mail reaches are invited: an invitation nobody sends would count as
    # asked and keep the customer out of surveys for the fatigue window.
    assert set(Invitation.objects.values_list("customer", flat=True)) == {
        emailed.pk,
        asked_lately.pk,
    }
    assert FatigueSkip.objects.filter(customer=asked_lately).count() == 1
    assert not Invitation.objects.filter(customer__in=[no_consent, by_sms]).exists()
    assert FatigueSkip.objects.count() == 1
    text = response.content.decode().replace("&#x27;", "'")
    assert "1 invited by e-mail. 3 skipped: " in text
    assert "1 no consent to e-mail" in text
    assert "1 prefers SMS (invitations go by e-mail)" in text
    assert "1 invited recently (fatigue window)" in text
    assert len(mailoutbox) == 1
    message = mailoutbox[0]
    html = message.alternatives[0][0]
    links = [f"{settings.SITE_URL}/s/{invitation.token}/?score={n}" for n in range(11)]
    assert message.to == [emailed.email]
    assert all(link in message.body for link in links)
    assert all(f'href="{link}"' in html for link in links)
    assert settings.ORGANIZATION_ADDRESS in message.body
    assert f"You receive this because you are a customer of {settings.ORGANIZATION_NAME}" in html


def test_one_smtp_connection_serves_a_batch(manager, survey, monkeypatch, mailoutbox):
    people = [person(manager, n) for n in range(3)]
    invited = services.invite(survey=survey, customers=people).invited
    opened = []
    real = mail.get_connection
    monkeypatch.setattr(mail, "get_connection", lambda *a, **k: opened.append(1) or real(*a, **k))

    outcome = mail.send_invitations(invitation_ids=[i.pk for i in invited])

    assert (outcome.sent, outcome.failed) == (3, [])
    assert len(opened) == 1
    assert len(mailoutbox) == 3


def test_a_paused_survey_invites_nobody(client, marketer, manager, survey):
    person(manager)
    Survey.objects.filter(pk=survey.pk).update(is_active=False)
    client.force_login(marketer)

    response = client.post(f"/surveys/{survey.pk}/invite/", follow=True)

    assert "This survey is paused" in response.content.decode()
    assert not Invitation.objects.exists()


def test_a_german_marketer_reads_why_customers_were_skipped_in_german(
    marketer, manager, survey, eager, django_capture_on_commit_callbacks
):
    person(manager, 1, consent_email=False)
    by_sms = person(manager, 2, phone="+14155552671", consent_sms=True, preferred_channel="sms")
    asked_lately = person(manager, 3)
    services.invite(survey=survey, customers=[asked_lately])
    german = Client(headers={"accept-language": "de"})
    german.force_login(marketer)

    with django_capture_on_commit_callbacks(execute=True):
        response = german.post(f"/surveys/{survey.pk}/invite/?owner=manager", follow=True)

    text = " ".join(str(m) for m in response.context["messages"])
    assert "3 übersprungen: " in text
    assert "1 keine Einwilligung für E-Mail" in text
    assert "1 bevorzugt SMS (Einladungen gehen per E-Mail)" in text
    assert "1 kürzlich eingeladen (Ruhefrist)" in text
    # Stored in English, whoever invited.
    skip = FatigueSkip.objects.get(customer=asked_lately)
    assert skip.reason.startswith("invited on ") and skip.reason.endswith(" (fatigue window)")
    assert not FatigueSkip.objects.filter(customer=by_sms).exists()
