"""GET /api/v1/nps/surveys/, POST /api/v1/nps/invitations/, GET /api/v1/nps/responses/,
GET /api/v1/nps/summary/."""

from datetime import timedelta

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from nps import score
from nps.models import FatigueSkip, Invitation, Survey
from tests.factories import nps_answers as answers
from tests.factories import person

pytestmark = pytest.mark.django_db

# The figures every summary, and every group of one, has.
SUMMARY_FIELDS = ("nps", "responses", "promoters", "passives", "detractors", "margin_of_error")


def api(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


@pytest.fixture
def survey():
    return Survey.objects.get()


# Surveys


def test_surveys_are_listed_with_their_wording(manager, survey):
    response = api(manager).get("/api/v1/nps/surveys/")

    body = response.json()
    assert response.status_code == 200
    assert set(body) == {"next", "previous", "results"}
    assert body["results"][0]["id"] == survey.pk
    assert body["results"][0]["question_score"] == survey.question_score
    assert body["results"][0]["is_active"] is True


def test_surveys_need_a_signed_in_caller():
    response = APIClient().get("/api/v1/nps/surveys/")

    assert response.status_code in (401, 403)
    assert set(response.json()) == {"detail", "errors"}


# Invitations


def test_inviting_reports_invited_and_skipped(marketer, manager, survey):
    ann, bob = person(manager, 1), person(manager, 2)
    client = api(marketer)

    first = client.post(
        "/api/v1/nps/invitations/",
        {"survey": survey.pk, "customers": [ann.pk, bob.pk, 999999]},
        format="json",
    )
    second = client.post(
        "/api/v1/nps/invitations/", {"survey": survey.pk, "customers": [ann.pk]}, format="json"
    )

    assert first.status_code == 200
    assert first.json() == {
        "invited": 2,
        "skipped": [{"customer": 999999, "reason": "no such customer"}],
    }
    skipped = second.json()["skipped"]
    assert second.json()["invited"] == 0
    assert [s["customer"] for s in skipped] == [ann.pk]
    assert "fatigue window" in skipped[0]["reason"]
    assert Invitation.objects.filter(customer__in=[ann, bob]).count() == 2
    assert FatigueSkip.objects.filter(customer=ann).count() == 1


@pytest.fixture
def eager():
    """Celery tasks run in the test process when queued (after the on_commit callbacks)."""
    from bonding.celery import app

    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = False


def test_invited_counts_only_those_the_e_mail_reaches_and_says_why_not_the_others(
    marketer, manager, survey, mailoutbox, eager, django_capture_on_commit_callbacks
):
    ann = person(manager, 1)
    no_consent = person(manager, 2, consent_email=False)
    by_sms = person(manager, 3, phone="+14155552671", consent_sms=True, preferred_channel="sms")

    with django_capture_on_commit_callbacks(execute=True):
        response = api(marketer).post(
            "/api/v1/nps/invitations/",
            {"survey": survey.pk, "customers": [ann.pk, no_consent.pk, by_sms.pk]},
            format="json",
        )

    assert response.json() == {
        "invited": 1,
        "skipped": [
            {"customer": no_consent.pk, "reason": "no consent to e-mail"},
            {"customer": by_sms.pk, "reason": "prefers SMS (invitations go by e-mail)"},
        ],
    }
    assert list(Invitation.objects.values_list("customer", flat=True)) == [ann.pk]
    assert [message.to for message in mailoutbox] == [[ann.email]]
    assert not FatigueSkip.objects.exists()


def test_an_account_manager_invites_only_their_own(manager, other_manager, survey):
    mine, theirs = person(manager, 1), person(other_manager, 2)

    response = api(manager).post(
        "/api/v1/nps/invitations/",
        {"survey": survey.pk, "customers": [mine.pk, theirs.pk]},
        format="json",
    )

    assert response.json() == {
        "invited": 1,
        "skipped": [{"customer": theirs.pk, "reason": "no such customer"}],
    }
    assert not Invitation.objects.filter(customer=theirs).exists()


def test_inviting_to_a_paused_survey_is_a_400(marketer, manager, survey):
    Survey.objects.filter(pk=survey.pk).update(is_active=False)

    response = api(marketer).post(
        "/api/v1/nps/invitations/",
        {"survey": survey.pk, "customers": [person(manager).pk]},
        format="json",
    )

    assert response.status_code == 400
    assert response.json()["errors"] == {"survey": ["This survey is paused."]}
    assert not Invitation.objects.exists()


def test_invitation_validation_errors_have_the_shape(marketer):
    response = api(marketer).post("/api/v1/nps/invitations/", {"customers": []}, format="json")

    assert response.status_code == 400
    assert set(response.json()) == {"detail", "errors"}
    assert set(response.json()["errors"]) == {"survey", "customers"}


def test_an_unknown_survey_is_a_field_error(marketer, manager):
    response = api(marketer).post(
        "/api/v1/nps/invitations/",
        {"survey": 999999, "customers": [person(manager).pk]},
        format="json",
    )

    assert response.status_code == 400
    assert set(response.json()["errors"]) == {"survey"}


# Responses


def test_responses_are_scoped_by_ownership(manager, other_manager, marketer):
    mine, theirs = person(manager, 1), person(other_manager, 2)
    answers(mine, [{"score": 9, "why": "Kind people"}])
    answers(theirs, [{"score": 2}])

    as_manager = api(manager).get("/api/v1/nps/responses/").json()["results"]
    as_marketer = api(marketer).get("/api/v1/nps/responses/").json()["results"]

    assert [(r["customer"], r["score"], r["category"], r["why"]) for r in as_manager] == [
        (mine.pk, 9, "promoter", "Kind people")
    ]
    assert len(as_marketer) == 2


def test_responses_filter_by_since_and_customer(marketer, manager):
    ann, bob = person(manager, 1), person(manager, 2)
    now = timezone.now()
    answers(
        ann,
        [
            {"score": 1, "answered_at": now - timedelta(days=10)},
            {"score": 7, "answered_at": now - timedelta(hours=1)},
        ],
    )
    answers(bob, [{"score": 10, "answered_at": now - timedelta(hours=2)}])
    client = api(marketer)
    since = (now - timedelta(days=1)).isoformat()

    recent = client.get("/api/v1/nps/responses/", {"since": since}).json()["results"]
    anns = client.get("/api/v1/nps/responses/", {"customer": ann.pk}).json()["results"]
    both = client.get("/api/v1/nps/responses/", {"since": since, "customer": ann.pk}).json()[
        "results"
    ]

    assert sorted(r["score"] for r in recent) == [7, 10]
    assert sorted(r["score"] for r in anns) == [1, 7]
    assert [r["score"] for r in both] == [7]


def test_a_bad_since_is_a_field_error(marketer):
    response = api(marketer).get("/api/v1/nps/responses/", {"since": "yesterday"})

    assert response.status_code == 400
    assert set(response.json()["errors"]) == {"since"}


def test_responses_page_by_cursor_in_a_fixed_number_of_queries(
    marketer, manager, django_assert_max_num_queries
):
    answers(person(manager), [{"score": n % 11} for n in range(5)])
    client = api(marketer)

    with django_assert_max_num_queries(6) as few:
        first = client.get("/api/v1/nps/responses/", {"page_size": 3}).json()
    queries_for_a_few = len(few)  # each request resets the connection's query log
    second = client.get(first["next"]).json()
    answers(person(manager, 2), [{"score": n % 11} for n in range(60)])
    with django_assert_max_num_queries(queries_for_a_few):
        client.get("/api/v1/nps/responses/", {"page_size": 50})

    ids = [r["id"] for r in first["results"] + second["results"]]
    assert len(first["results"]) == 3
    assert len(ids) == len(set(ids)) == 5
    assert second["next"] is None


# Summary


def test_the_summary_has_the_score_counts_and_margin(manager):
    answers(person(manager), [{"score": s} for s in (10, 9, 8, 3)])

    body = api(manager).get("/api/v1/nps/summary/").json()

    expected = score.from_scores([10, 9, 8, 3])
    assert set(body) == {*SUMMARY_FIELDS, "groups"}
    assert (body["nps"], body["responses"]) == (25.0, 4)
    assert (body["promoters"], body["passives"], body["detractors"]) == (2, 1, 1)
    assert body["margin_of_error"] == pytest.approx(expected.margin_of_error, abs=0.05)
    assert body["groups"] == []


def test_the_summary_of_nothing_has_no_score(marketer):
    body = api(marketer).get("/api/v1/nps/summary/").json()

    assert (body["nps"], body["responses"], body["margin_of_error"]) == (None, 0, None)


def test_the_summary_groups_by_month(marketer, manager):
    now = timezone.now()
    earlier = now - timedelta(days=62)
    answers(
        person(manager),
        [
            {"score": 10, "answered_at": now},
            {"score": 0, "answered_at": earlier},
            {"score": 6, "answered_at": earlier},
        ],
    )

    groups = api(marketer).get("/api/v1/nps/summary/", {"group_by": "month"}).json()["groups"]

    assert [(g["key"], g["nps"], g["responses"]) for g in groups] == [
        (f"{timezone.localtime(earlier):%Y-%m}", -100.0, 2),
        (f"{timezone.localtime(now):%Y-%m}", 100.0, 1),
    ]
    assert set(groups[0]) == {"key", "label", *SUMMARY_FIELDS, "trustworthy"}


def test_the_summary_groups_by_tier_and_marks_small_groups(marketer, manager):
    ann = person(manager)
    answers(
        ann,
        [{"score": 10, "tier_slug": "repeat"} for _ in range(30)]
        + [{"score": 2, "tier_slug": "prospect"}],
    )

    groups = api(marketer).get("/api/v1/nps/summary/", {"group_by": "tier"}).json()["groups"]

    assert [(g["key"], g["label"], g["responses"], g["trustworthy"]) for g in groups] == [
        ("prospect", "Prospect", 1, False),
        ("repeat", "Repeat customer", 30, True),
    ]


def test_the_summary_is_scoped_by_ownership(manager, other_manager):
    answers(person(manager, 1), [{"score": 10}])
    answers(person(other_manager, 2), [{"score": 0}, {"score": 0}])

    body = api(manager).get("/api/v1/nps/summary/", {"group_by": "owner"}).json()

    assert (body["nps"], body["responses"]) == (100.0, 1)
    assert [g["responses"] for g in body["groups"]] == [1]


def test_an_unknown_grouping_is_a_field_error(marketer):
    response = api(marketer).get("/api/v1/nps/summary/", {"group_by": "weather"})

    assert response.status_code == 400
    assert set(response.json()) == {"detail", "errors"}
    assert set(response.json()["errors"]) == {"group_by"}


@pytest.mark.parametrize("since", ["2030-02-15T05:07:07-19:18", "9999-12-31T23:30:00-10:00"])
def test_odd_offsets_in_since_are_no_server_error(marketer, since):
    response = api(marketer).get("/api/v1/nps/responses/", {"since": since})

    assert response.status_code in (200, 400)


def test_the_skip_reasons_answer_in_the_callers_language(marketer, manager, survey):
    by_sms = person(manager, 3, phone="+14155552671", consent_sms=True, preferred_channel="sms")
    client = api(marketer)

    response = client.post(
        "/api/v1/nps/invitations/",
        {"survey": survey.pk, "customers": [by_sms.pk]},
        format="json",
        headers={"accept-language": "es"},
    )

    reason = "prefiere SMS (las invitaciones van por correo)"
    assert response.json()["skipped"] == [{"customer": by_sms.pk, "reason": reason}]
