"""A/B variants of a step's content: saved, sent by a stable draw, counted, promoted."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.core import mail
from django.core.exceptions import ValidationError
from django.utils import timezone

from customers.models import Purchase
from programs import variant_figures, variant_store, variants
from programs.delivery import deliver
from programs.models import Step, StepVariant, Touch
from programs.variant_store import VariantData

pytestmark = pytest.mark.django_db

TWO = [
    VariantData(label="Plain", weight=1, email_subject="Plain hello"),
    VariantData(label="Offer", weight=1, email_subject="10 % off for you"),
]


def test_each_send_takes_the_customers_variant_and_records_it(make_touches):
    touches = make_touches(12)
    step = touches[0].step
    saved = variant_store.save_variants(step=step, rows=TWO)
    Touch.objects.filter(pk__in=[t.pk for t in touches]).update(status=Touch.Status.CLAIMED)

    assert deliver(touch_ids=[t.pk for t in touches]) == {"sent": 12}

    by_address = {message.to[0]: message.subject for message in mail.outbox}
    for touch in Touch.objects.select_related("customer", "step__program"):
        index = variants.choose(
            [1, 1], salt=step.program.holdout_salt, step_id=step.pk, customer_id=touch.customer_id
        )
        assert touch.variant_id == saved[index].pk
        assert by_address[touch.customer.email] == saved[index].email_subject
    # The body was left empty in the variants: the step's own is sent.
    assert all("hello from" in message.body for message in mail.outbox)


def test_a_step_without_variants_records_none(make_touches):
    touches = make_touches(2)
    Touch.objects.filter(pk__in=[t.pk for t in touches]).update(status=Touch.Status.CLAIMED)

    deliver(touch_ids=[t.pk for t in touches])

    assert not Touch.objects.filter(variant__isnull=False).exists()
    assert {m.subject for m in mail.outbox} == {f"Hello {t.customer.first_name}" for t in touches}


def test_one_or_five_variants_are_refused_and_nothing_changes(make_touches):
    step = make_touches(1)[0].step

    for rows in (TWO[:1], TWO * 2 + TWO[:1]):
        with pytest.raises(ValidationError):
            variant_store.save_variants(step=step, rows=rows)

    step.refresh_from_db()
    assert not step.variants.exists() and not step.testing_variants


def sent_touches(step, variant, count, *, answered=0, bought=0):
    """`count` touches of `variant` sent 20 days ago; some answered, some followed by a
    purchase inside the window, and one purchase outside it that must not count."""
    touches = Touch.objects.filter(step=step, variant__isnull=True)[:count]
    ids = [t.pk for t in touches]
    at = timezone.now() - timedelta(days=20)
    Touch.objects.filter(pk__in=ids).update(status=Touch.Status.SENT, sent_at=at, variant=variant)
    Touch.objects.filter(pk__in=ids[:answered]).update(responded_at=at + timedelta(hours=2))
    buyers = Touch.objects.filter(pk__in=ids[answered : answered + bought])
    Purchase.objects.bulk_create(
        Purchase(
            customer_id=t.customer_id,
            amount=Decimal(20),
            purchased_on=(at + timedelta(days=3)).date(),
        )
        for t in buyers
    )
    late = Touch.objects.get(pk=ids[-1])
    Purchase.objects.create(
        customer_id=late.customer_id,
        amount=Decimal(5),
        purchased_on=(at + timedelta(days=19)).date(),
    )


def test_the_funnel_counts_answers_and_purchases_inside_the_window(make_touches, settings):
    settings.AB_TEST_MINIMUM_SENDS = 10
    step = make_touches(40)[0].step
    first, second = variant_store.save_variants(step=step, rows=TWO)
    sent_touches(step, first, 20, answered=1, bought=1)
    sent_touches(step, second, 20, answered=8, bought=7)

    test = variant_figures.variant_test(step)

    assert [(r.tally.sends, r.tally.responses) for r in test.rows] == [(20, 2), (20, 15)]
    assert test.winner == second and not test.collecting
    versus = test.rows[1].standing.versus_first
    assert versus is not None and versus.low > 0
    assert versus.difference == pytest.approx(13 / 20)


def test_promoting_stops_the_others_keeps_history_and_twice_is_refused(make_touches):
    step = make_touches(4)[0].step
    first, second = variant_store.save_variants(step=step, rows=TWO)
    sent_touches(step, first, 2)

    with pytest.raises(ValidationError):  # no winner yet: only a forced promotion
        variant_store.promote(step=step, variant_id=second.pk)
    variant_store.promote(step=step, variant_id=second.pk, force=True)

    step.refresh_from_db()
    assert step.email_subject == "10 % off for you" and not step.testing_variants
    assert StepVariant.objects.filter(step=step, promoted_at__isnull=False).get() == second
    assert StepVariant.objects.get(pk=first.pk).stopped_at is not None
    assert Touch.objects.filter(variant=first).count() == 2  # history kept
    with pytest.raises(variant_store.AlreadyPromoted):
        variant_store.promote(step=step, variant_id=first.pk, force=True)
    with pytest.raises(ValidationError):
        variant_store.save_variants(step=step, rows=TWO)


def test_removing_a_variant_that_went_out_stops_it_instead(make_touches):
    step = make_touches(3)[0].step
    rows = [*TWO, VariantData(label="Third", weight=2, sms_body="Hi")]
    saved = variant_store.save_variants(step=step, rows=rows)
    sent_touches(step, saved[2], 1)

    variant_store.save_variants(step=step, rows=TWO)

    assert StepVariant.objects.get(pk=saved[2].pk).stopped_at is not None
    step.refresh_from_db()
    assert step.testing_variants

    variant_store.save_variants(step=step, rows=[])
    step.refresh_from_db()
    assert not step.testing_variants
    assert list(StepVariant.objects.filter(step=step).values_list("pk", flat=True)) == [saved[2].pk]


@pytest.fixture
def signed_in(client, marketer):
    client.force_login(marketer)
    return client


@pytest.mark.parametrize("size", [4, 30])
def test_the_variants_page_in_a_fixed_number_of_queries(
    signed_in, make_touches, size, django_assert_num_queries
):
    step = make_touches(size)[0].step
    first, second = variant_store.save_variants(step=step, rows=TWO)
    sent_touches(step, first, size // 2, answered=1)
    sent_touches(step, second, size // 2, bought=1)
    url = f"/programs/{step.program_id}/steps/{step.pk}/variants/"

    # Session, user, roles, the step, its variants, the funnel.
    with django_assert_num_queries(6):
        response = signed_in.get(url)

    page = response.content.decode()
    assert response.status_code == 200
    assert "Plain" in page and "10 % off for you" in page
    assert "Collecting" in page
    assert 'name="force" value="1"' in page  # promoting without a winner is said outright


def test_a_marketer_edits_variants_on_the_page(signed_in, make_touches):
    step = make_touches(1)[0].step
    url = f"/programs/{step.program_id}/steps/{step.pk}/variants/"
    data = {"response_window_days": "7"}
    for index in range(4):
        data |= {f"v{index}-label": "", f"v{index}-weight": "1"}
    data |= {"v0-label": "A", "v0-sms_body": "Hi", "v1-label": "B", "v1-weight": "3"}

    response = signed_in.post(url, data)

    assert response.status_code == 302
    step.refresh_from_db()
    assert step.response_window_days == 7 and step.testing_variants
    assert list(step.variants.values_list("label", "weight")) == [("A", 1), ("B", 3)]

    data["v1-label"] = ""  # one variant is no test: refused, nothing changes
    assert signed_in.post(url, data).status_code == 400
    assert step.variants.count() == 2


def test_promoting_on_the_page_and_again_is_a_409(signed_in, make_touches):
    step = make_touches(1)[0].step
    first, second = variant_store.save_variants(step=step, rows=TWO)
    url = f"/programs/{step.program_id}/steps/{step.pk}/variants/promote/"

    assert signed_in.post(url, {"variant": "x"}).status_code == 400
    assert signed_in.post(url, {"variant": second.pk}).status_code == 400  # not the winner
    assert signed_in.post(url, {"variant": second.pk, "force": "1"}).status_code == 302
    assert signed_in.post(url, {"variant": first.pk, "force": "1"}).status_code == 409
    assert Step.objects.get(pk=step.pk).email_subject == "10 % off for you"


def test_account_managers_may_not_see_or_change_a_test(client, manager, make_touches):
    step = make_touches(1)[0].step
    first, _ = variant_store.save_variants(step=step, rows=TWO)
    client.force_login(manager)
    base = f"/programs/{step.program_id}/steps/{step.pk}/variants/"

    assert client.get(base).status_code == 403
    assert client.post(base + "promote/", {"variant": first.pk}).status_code == 403
    assert not StepVariant.objects.filter(promoted_at__isnull=False).exists()


def test_promoting_needs_csrf(make_touches, marketer):
    from django.test import Client

    step = make_touches(1)[0].step
    first, _ = variant_store.save_variants(step=step, rows=TWO)
    strict = Client(enforce_csrf_checks=True)
    strict.force_login(marketer)

    url = f"/programs/{step.program_id}/steps/{step.pk}/variants/promote/"
    assert strict.post(url, {"variant": first.pk}).status_code == 403
