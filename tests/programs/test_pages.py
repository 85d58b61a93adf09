"""The marketers' program pages: list, editor, preview, enrolling, funnel, failures, letters."""

from datetime import timedelta
from pathlib import Path

import pytest
from django.conf import settings
from django.utils import timezone

from customers.models import Channel, Customer
from programs import queries, views
from programs.models import Enrollment, LetterBatch, Program, Step, Touch
from programs.tasks import enroll_segment_task

pytestmark = pytest.mark.django_db


def make_program(name: str = "Welcome", *, steps: int = 1) -> Program:
    program = Program.objects.create(name=name)
    for n in range(1, steps + 1):
        Step.objects.create(
            program=program,
            order=n,
            name=f"Step {n}",
            channel_mode=Step.ChannelMode.FIXED,
            channel=Channel.EMAIL,
            email_subject="Hello {{ first_name }}",
            email_body="Dear {{ first_name }},\n\nwelcome to {{ organization_name }}.",
            sms_body="Hi {{ first_name }}",
            letter_body="Dear {{ first_name }}",
        )
    return program


def make_customers(count: int, prefix: str = "c", **fields) -> list[Customer]:
    start = Customer.objects.count()
    return Customer.objects.bulk_create(
        Customer(
            first_name=f"{prefix}{start + n}",
            last_name="Lee",
            email=f"{prefix}{start + n}@example.com",
            consent_email=True,
            **fields,
        )
        for n in range(count)
    )


def make_touches(step: Step, customers: list[Customer], **fields) -> list[Touch]:
    enrollments = Enrollment.objects.bulk_create(
        Enrollment(program=step.program, customer=customer) for customer in customers
    )
    data = {"due_at": timezone.now() - timedelta(hours=1), "channel": Channel.EMAIL, **fields}
    return Touch.objects.bulk_create(
        Touch(enrollment=e, step=step, customer=e.customer, **data) for e in enrollments
    )


def make_letter_batch(count: int) -> LetterBatch:
    program = make_program("Letters")
    customers = make_customers(count, postal_address="1 High Street\nSpringfield")
    touches = make_touches(
        program.steps.get(), customers, channel=Channel.LETTER, status=Touch.Status.WAITING
    )
    batch = LetterBatch.objects.create()
    batch.touches.add(*touches)
    return batch


def queries_on(client, url: str, limit: int, django_assert_max_num_queries) -> int:
    with django_assert_max_num_queries(limit) as captured:
        response = client.get(url)
    assert response.status_code == 200
    return len(captured)


@pytest.fixture
def program() -> Program:
    return make_program(steps=2)


@pytest.fixture
def signed_in(client, marketer):
    marketer.email = "maria@example.com"
    marketer.save()
    client.force_login(marketer)
    return client


def page_urls(program: Program) -> list[str]:
    step = program.steps.first()
    batch = make_letter_batch(1)
    return [
        "/programs/",
        "/programs/new/",
        f"/programs/{program.pk}/",
        f"/programs/{program.pk}/steps/new/",
        f"/programs/{program.pk}/steps/{step.pk}/",
        f"/programs/{program.pk}/enroll/",
        f"/programs/{program.pk}/enroll/progress/?since=0&total=5",
        f"/programs/{program.pk}/funnel/",
        "/programs/failures/",
        "/programs/letters/",
        f"/programs/letters/{batch.pk}/",
    ]


def test_every_page_renders_for_a_marketer(signed_in, program):
    make_customers(2)
    for url in page_urls(program):
        response = signed_in.get(url)
        assert response.status_code == 200, url
        assert b"/static/css/programs.css" in response.content, url


def test_every_page_is_forbidden_to_an_account_manager(client, manager, program):
    client.force_login(manager)
    for url in page_urls(program):
        assert client.get(url).status_code == 403, url
    step = program.steps.first()
    for url in [
        f"/programs/{program.pk}/steps/preview/",
        f"/programs/{program.pk}/steps/test-send/",
        f"/programs/{program.pk}/steps/{step.pk}/delete/",
        "/programs/letters/1/posted/",
    ]:
        assert client.post(url).status_code == 403, url
    assert Step.objects.filter(pk=step.pk).exists()


def test_every_page_sends_an_anonymous_visitor_to_sign_in(client, program):
    for url in page_urls(program):
        response = client.get(url)
        assert response.status_code == 302, url
        assert response["Location"].startswith("/accounts/login/"), url


def test_the_programs_item_is_in_the_navigation(signed_in):
    response = signed_in.get("/programs/")
    assert b'<a href="/programs/" aria-current="page">Programs</a>' in response.content


def test_the_list_shows_counts_per_program(signed_in, program):
    step = program.steps.first()
    customers = make_customers(3)
    touches = make_touches(step, customers, status=Touch.Status.SENT, sent_at=timezone.now())
    Touch.objects.filter(pk=touches[0].pk).update(status=Touch.Status.FAILED)

    response = signed_in.get("/programs/")

    row = next(p for p in response.context["programs"] if p.pk == program.pk)
    assert (row.active_enrollments, row.sent_this_week, row.needs_attention) == (3, 2, 1)
    assert row.step_count == 2


def test_the_list_says_what_to_do_when_there_is_no_program(signed_in):
    Program.objects.all().delete()
    response = signed_in.get("/programs/")
    assert b"No programs yet" in response.content
    assert b'href="/programs/new/"' in response.content


@pytest.mark.parametrize("rows", [3, 30])
def test_the_list_runs_a_fixed_number_of_queries(signed_in, rows, django_assert_max_num_queries):
    for n in range(rows):
        program = make_program(f"P{n}")
        make_touches(program.steps.get(), make_customers(1), status=Touch.Status.FAILED)
    assert queries_on(signed_in, "/programs/", 5, django_assert_max_num_queries) == 5


def test_creating_a_program_opens_its_editor(signed_in):
    response = signed_in.post(
        "/programs/new/", {"name": "Win-back", "reentry": "after_days", "reentry_days": "90"}
    )
    program = Program.objects.get(name="Win-back")
    assert response.status_code == 302
    assert response["Location"] == f"/programs/{program.pk}/"
    assert (program.reentry, program.reentry_days) == ("after_days", 90)


def test_rejoining_after_days_needs_the_number_of_days(signed_in):
    response = signed_in.post("/programs/new/", {"name": "Win-back", "reentry": "after_days"})
    assert response.status_code == 400
    assert b"after how many days" in response.content
    assert not Program.objects.filter(name="Win-back").exists()


def test_saving_settings_changes_the_audience(signed_in, program):
    response = signed_in.post(
        f"/programs/{program.pk}/",
        {
            "name": "Welcome B2B",
            "audiences": ["b2b"],
            "reentry": "once",
            "is_active": "on",
            "exit_when_unsubscribed": "on",
        },
    )
    program.refresh_from_db()
    assert response.status_code == 302
    assert (program.name, program.audiences) == ("Welcome B2B", ["b2b"])


def test_a_new_step_goes_last(signed_in, program):
    response = signed_in.post(
        f"/programs/{program.pk}/steps/new/",
        {
            "kind": "check_in",
            "name": "Check-in",
            "anchor": "enrollment",
            "offset_days": "30",
            "channel_mode": "preferred",
            "channel": "email",
            "email_subject": "How is it going?",
            "email_body": "Dear {{ first_name }}, how is it going?",
            "sms_body": "How is it going?",
            "reward_value": "0",
        },
    )
    assert response.status_code == 302
    assert list(program.steps.order_by("order").values_list("name", "order")) == [
        ("Step 1", 1),
        ("Step 2", 2),
        ("Check-in", 3),
    ]


def test_editing_a_step_keeps_its_place(signed_in, program):
    step = program.steps.get(order=1)
    response = signed_in.post(
        f"/programs/{program.pk}/steps/{step.pk}/",
        {
            "kind": "custom",
            "name": "Hello again",
            "anchor": "enrollment",
            "offset_days": "3",
            "channel_mode": "fixed",
            "channel": "sms",
            "sms_body": "Hi",
            "reward_value": "0",
        },
    )
    step.refresh_from_db()
    assert response.status_code == 302
    assert (step.name, step.order, step.channel, step.offset_days) == ("Hello again", 1, "sms", 3)


def test_moving_a_step_up_swaps_it_with_the_one_above(signed_in, program):
    first, second = program.steps.order_by("order")

    signed_in.post(f"/programs/{program.pk}/steps/{second.pk}/move/", {"direction": "up"})

    assert list(program.steps.order_by("order").values_list("pk", flat=True)) == [
        second.pk,
        first.pk,
    ]


def test_a_step_without_sent_touches_can_be_deleted(signed_in, program):
    step = program.steps.get(order=2)
    make_touches(step, make_customers(1), status=Touch.Status.SCHEDULED)

    signed_in.post(f"/programs/{program.pk}/steps/{step.pk}/delete/")

    assert not Step.objects.filter(pk=step.pk).exists()


def test_a_step_with_sent_touches_stays(signed_in, program):
    step = program.steps.get(order=2)
    make_touches(step, make_customers(1), status=Touch.Status.SENT)

    response = signed_in.post(f"/programs/{program.pk}/steps/{step.pk}/delete/", follow=True)

    assert Step.objects.filter(pk=step.pk).exists()
    assert b"the step stays" in response.content


def preview_data(customer: Customer, **content) -> dict:
    data = {
        "kind": "custom",
        "name": "Hello",
        "anchor": "enrollment",
        "offset_days": "0",
        "channel_mode": "preferred",
        "channel": "email",
        "reward_value": "0",
        "preview_customer": str(customer.pk),
    }
    data.update(content)
    return data


def test_the_preview_renders_the_chosen_customers_name(signed_in, program):
    make_customers(1, prefix="someone")
    zoe = Customer.objects.create(first_name="Zoë", last_name="Martin", email="zoe@example.com")
    data = preview_data(
        zoe,
        email_subject="Hello {{ first_name }}",
        email_body="Dear {{ first_name }} {{ last_name }}",
        sms_body="Hi {{ first_name }}!",
        call_script="Ask {{ first_name }}",
    )

    response = signed_in.post(
        f"/programs/{program.pk}/steps/preview/", data, headers={"HX-Request": "true"}
    )

    assert response.status_code == 200
    text = response.content.decode()
    assert "Hello Zoë" in text
    assert "Dear Zoë Martin" in text  # plain text part
    assert "Hi Zoë! Reply STOP to opt out." in text
    assert "Ask Zoë" in text
    assert "<!doctype" not in text.lower()  # a fragment, not a page
    assert "&lt;html" in text  # the HTML part, escaped into the sandboxed frame


def test_the_preview_shows_a_template_syntax_error(signed_in, program):
    zoe = Customer.objects.create(first_name="Zoë", email="zoe@example.com")
    data = preview_data(zoe, email_body="Dear {% if first_name %}{{ first_name }}")

    response = signed_in.post(
        f"/programs/{program.pk}/steps/preview/", data, headers={"HX-Request": "true"}
    )

    assert response.status_code == 200
    assert b"This template does not render" in response.content
    assert b"endif" in response.content  # the unclosed tag, named


def test_the_preview_without_javascript_renders_the_whole_step_page(signed_in, program):
    zoe = Customer.objects.create(first_name="Zoë", email="zoe@example.com")
    data = preview_data(zoe, email_subject="Hello {{ first_name }}")

    response = signed_in.post(f"/programs/{program.pk}/steps/preview/", data)

    assert response.status_code == 200
    assert b"<html" in response.content
    assert "Hello Zoë" in response.content.decode()
    assert not program.steps.filter(name="Hello").exists()  # a preview saves nothing


def test_the_step_page_previews_the_saved_step(signed_in, program):
    Customer.objects.create(first_name="Zoë", last_name="Aa", email="zoe@example.com")
    step = program.steps.get(order=1)

    response = signed_in.get(f"/programs/{program.pk}/steps/{step.pk}/")

    assert "Hello Zoë" in response.content.decode()


def test_a_test_send_arrives_in_the_marketers_mailbox(signed_in, program, mailoutbox):
    zoe = Customer.objects.create(first_name="Zoë", email="zoe@example.com")
    data = preview_data(
        zoe,
        email_subject="Hello {{ first_name }}",
        email_body="Dear {{ first_name }}",
    )

    response = signed_in.post(
        f"/programs/{program.pk}/steps/test-send/", data, headers={"HX-Request": "true"}
    )

    assert response.status_code == 200
    assert b"Sent to maria@example.com" in response.content
    assert len(mailoutbox) == 1
    message = mailoutbox[0]
    assert message.to == ["maria@example.com"]
    assert message.subject == "[Test] Hello Zoë"
    assert "Dear Zoë" in message.body
    assert "Dear Zoë" in message.alternatives[0][0]


def test_a_test_send_with_a_broken_template_sends_nothing(signed_in, program, mailoutbox):
    zoe = Customer.objects.create(first_name="Zoë", email="zoe@example.com")
    data = preview_data(zoe, email_subject="Hello {% if %}", email_body="Hi")

    response = signed_in.post(
        f"/programs/{program.pk}/steps/test-send/", data, headers={"HX-Request": "true"}
    )

    assert b"does not render" in response.content
    assert mailoutbox == []


def test_the_enroll_page_counts_the_filtered_segment(signed_in, program):
    make_customers(2, prefix="zed")
    make_customers(3, prefix="other")

    response = signed_in.get(f"/programs/{program.pk}/enroll/?q=zed")

    assert response.context["matching"] == 2
    assert b"Enroll 2 customers" in response.content


def test_enrolling_a_small_segment_creates_enrollments_and_touches(signed_in, program):
    zeds = make_customers(2, prefix="zed")
    make_customers(3, prefix="other")

    response = signed_in.post(f"/programs/{program.pk}/enroll/?q=zed")

    assert response.status_code == 302
    assert response["Location"] == f"/programs/{program.pk}/funnel/"
    enrolled = set(Enrollment.objects.filter(program=program).values_list("customer", flat=True))
    assert enrolled == {c.pk for c in zeds}
    assert Touch.objects.filter(step__program=program).count() == 4  # two steps each


def test_enrolling_twice_skips_those_already_enrolled(signed_in, program):
    make_customers(2, prefix="zed")
    signed_in.post(f"/programs/{program.pk}/enroll/?q=zed")

    response = signed_in.post(f"/programs/{program.pk}/enroll/?q=zed", follow=True)

    assert Enrollment.objects.filter(program=program).count() == 2
    assert b"0 enrolled" in response.content
    assert b"2 already enrolled" in response.content


def test_a_paused_program_enrolls_nobody(signed_in, program):
    program.is_active = False
    program.save()
    make_customers(2, prefix="zed")

    response = signed_in.post(f"/programs/{program.pk}/enroll/?q=zed")

    assert response.status_code == 200
    assert b"paused" in response.content
    assert not Enrollment.objects.exists()


def test_a_big_segment_is_queued_and_its_progress_shown(
    signed_in, program, monkeypatch, django_capture_on_commit_callbacks
):
    monkeypatch.setattr(views, "DIRECT_ENROLL_LIMIT", 1)
    queued = []
    monkeypatch.setattr(enroll_segment_task, "delay", lambda *args: queued.append(args))
    zeds = make_customers(3, prefix="zed")

    with django_capture_on_commit_callbacks(execute=True):
        response = signed_in.post(f"/programs/{program.pk}/enroll/?q=zed")

    assert response.status_code == 302
    assert response["Location"].startswith(f"/programs/{program.pk}/enroll/progress/?since=")
    assert response["Location"].endswith("&total=3")
    assert not Enrollment.objects.exists()  # not during the request
    [(program_id, ids, by_id)] = queued
    assert (program_id, sorted(ids)) == (program.pk, sorted(c.pk for c in zeds))

    enroll_segment_task(program_id, ids, by_id)  # what the worker does
    progress = signed_in.get(response["Location"], headers={"HX-Request": "true"})

    assert b"3 of up to 3 customers enrolled" in progress.content
    assert b"hx-trigger" not in progress.content  # done: polling stops


def test_the_funnel_counts_each_step(signed_in, program):
    first, second = program.steps.order_by("order")
    sent = make_touches(first, make_customers(4), status=Touch.Status.SENT)
    Touch.objects.filter(pk=sent[0].pk).update(responded_at=timezone.now())
    make_touches(first, make_customers(1), status=Touch.Status.FAILED)
    make_touches(second, make_customers(2), status=Touch.Status.SCHEDULED)
    make_touches(second, make_customers(1), status=Touch.Status.SKIPPED)

    response = signed_in.get(f"/programs/{program.pk}/funnel/")

    rows = {row.step.pk: row for row in response.context["rows"]}
    one, two = rows[first.pk], rows[second.pk]
    assert (one.scheduled, one.sent, one.failed, one.skipped, one.responded) == (0, 4, 1, 0, 1)
    assert one.response_rate == 0.25
    assert (two.scheduled, two.sent, two.skipped, two.response_rate) == (2, 0, 1, None)
    assert b"25 %" in response.content


@pytest.mark.parametrize("rows", [3, 30])
def test_the_funnel_runs_a_fixed_number_of_queries(signed_in, rows, django_assert_max_num_queries):
    program = make_program("Big", steps=rows)
    for step in program.steps.all():
        make_touches(step, make_customers(1), status=Touch.Status.SENT)
    url = f"/programs/{program.pk}/funnel/"
    assert queries_on(signed_in, url, 8, django_assert_max_num_queries) == 8


def test_failures_list_failed_and_review_touches_newest_first(signed_in, program):
    step = program.steps.first()
    older = make_touches(
        step,
        make_customers(1),
        status=Touch.Status.FAILED,
        last_error="550 mailbox unavailable",
        due_at=timezone.now() - timedelta(days=2),
    )
    newer = make_touches(
        step,
        make_customers(1),
        status=Touch.Status.REVIEW,
        last_error="The worker stopped while sending",
    )
    make_touches(step, make_customers(1), status=Touch.Status.SENT)

    response = signed_in.get("/programs/failures/")

    assert [t.pk for t in response.context["page"].rows] == [newer[0].pk, older[0].pk]
    assert b"550 mailbox unavailable" in response.content
    assert b"Step 1" in response.content


@pytest.mark.parametrize("rows", [3, 30])
def test_failures_run_a_fixed_number_of_queries(
    signed_in, program, rows, django_assert_max_num_queries
):
    make_touches(program.steps.first(), make_customers(rows), status=Touch.Status.FAILED)
    assert queries_on(signed_in, "/programs/failures/", 5, django_assert_max_num_queries) == 5


def test_retry_puts_a_failed_touch_back_in_the_queue_due_now(signed_in, program):
    [touch] = make_touches(
        program.steps.first(),
        make_customers(1),
        status=Touch.Status.FAILED,
        attempts=5,
        due_at=timezone.now() - timedelta(days=3),
    )

    response = signed_in.post(
        f"/programs/touches/{touch.pk}/retry/", {"next": "/programs/failures/?page=2"}
    )

    touch.refresh_from_db()
    assert response["Location"] == "/programs/failures/?page=2"
    assert (touch.status, touch.attempts) == ("scheduled", 0)
    assert abs(touch.due_at - timezone.now()) < timedelta(minutes=1)


def test_dismiss_cancels_a_touch_and_only_once(signed_in, program):
    [touch] = make_touches(program.steps.first(), make_customers(1), status=Touch.Status.REVIEW)

    signed_in.post(f"/programs/touches/{touch.pk}/dismiss/")
    response = signed_in.post(f"/programs/touches/{touch.pk}/retry/", follow=True)

    touch.refresh_from_db()
    assert touch.status == "cancelled"
    assert b"already retried or dismissed" in response.content


def test_retry_does_not_follow_a_next_to_another_site(signed_in, program):
    [touch] = make_touches(program.steps.first(), make_customers(1), status=Touch.Status.FAILED)
    response = signed_in.post(
        f"/programs/touches/{touch.pk}/retry/", {"next": "https://evil.example/"}
    )
    assert response["Location"] == "/programs/failures/"


@pytest.mark.parametrize("rows", [3, 30])
def test_letter_batches_run_a_fixed_number_of_queries(
    signed_in, rows, django_assert_max_num_queries
):
    for _ in range(rows):
        make_letter_batch(1)
    assert queries_on(signed_in, "/programs/letters/", 4, django_assert_max_num_queries) == 4


@pytest.mark.parametrize("rows", [3, 30])
def test_a_letter_batch_prints_in_a_fixed_number_of_queries(
    signed_in, rows, django_assert_max_num_queries
):
    batch = make_letter_batch(rows)
    url = f"/programs/letters/{batch.pk}/"
    # The unsubscribe and preference links of the letters are made once, on first render.
    signed_in.get(url)
    assert queries_on(signed_in, url, 9, django_assert_max_num_queries) == 9


def test_a_letter_batch_prints_one_letter_per_page(signed_in):
    batch = make_letter_batch(2)

    response = signed_in.get(f"/programs/letters/{batch.pk}/")

    text = response.content.decode()
    assert text.count('<article class="letter"') == 2
    assert settings.ORGANIZATION_NAME in text
    assert "1 High Street<br>Springfield" in text
    first = batch.touches.order_by("customer__first_name").first().customer
    assert f"Dear {first.first_name}" in text
    css = (Path(settings.BASE_DIR) / "static/css/programs.css").read_text()
    assert "page-break-after: always" in css


def test_marking_a_batch_posted_sends_its_letters(signed_in):
    batch = make_letter_batch(2)

    response = signed_in.post(f"/programs/letters/{batch.pk}/posted/", follow=True)

    batch.refresh_from_db()
    assert batch.posted_at is not None
    assert set(batch.touches.values_list("status", flat=True)) == {"sent"}
    assert b"2 letters sent" in response.content


def test_marking_a_batch_posted_twice_changes_nothing(signed_in):
    batch = make_letter_batch(1)
    signed_in.post(f"/programs/letters/{batch.pk}/posted/")
    posted_at = LetterBatch.objects.get(pk=batch.pk).posted_at

    response = signed_in.post(f"/programs/letters/{batch.pk}/posted/", follow=True)

    assert LetterBatch.objects.get(pk=batch.pk).posted_at == posted_at
    assert b"already marked posted" in response.content


def test_every_form_carries_a_csrf_token(signed_in, program):
    for url in [
        "/programs/new/",
        f"/programs/{program.pk}/",
        f"/programs/{program.pk}/steps/{program.steps.first().pk}/",
    ]:
        assert b"csrfmiddlewaretoken" in signed_in.get(url).content, url


def test_a_customers_touches_are_listed_latest_due_first(program):
    [ann] = make_customers(1)
    first, second = program.steps.order_by("order")
    [early] = make_touches(first, [ann], due_at=timezone.now() - timedelta(days=2))
    Touch.objects.create(
        enrollment=early.enrollment,
        step=second,
        customer=ann,
        due_at=timezone.now(),
        channel=Channel.EMAIL,
    )

    page = queries.customer_touches(ann)

    assert [t.step.name for t in page.rows] == ["Step 2", "Step 1"]
    assert page.rows[0].step.program.name == "Welcome"
