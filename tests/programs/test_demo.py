"""The programs demo seeder leaves what delivery and settlement leave, nothing of its own."""

from collections import Counter
from collections.abc import Iterator

import pytest

from bonding import demo as bonding_demo
from customers import demo as customer_demo
from customers.models import Channel, Customer, Reward, TimelineEntry
from programs import demo
from programs.models import Enrollment, LetterBatch, Step, Touch
from tests.shared_data import kept_for_scope

pytestmark = pytest.mark.django_db


def seed() -> dict[str, int]:
    # 200 customers: enough for the lift test's interval, and so for every test here.
    bonding_demo.seed_users()
    customer_demo.seed_customers(count=200)
    customers = Customer.objects.filter(external_id__startswith="demo-", deleted_at__isnull=True)
    return demo.seed_programs(customers=customers)


@pytest.fixture(scope="module")
def seeded(django_db_setup, django_db_blocker) -> Iterator[dict[str, int]]:
    """Seeded once for the tests here, which only read it (tests/shared_data.py)."""
    with kept_for_scope(django_db_blocker, seed) as counts:
        yield counts


def test_every_sent_touch_is_settled_as_settlement_settles_it(seeded):
    sent = list(Touch.objects.filter(status=Touch.Status.SENT).select_related("step__reward_rule"))
    gifts = [t for t in sent if t.step.kind == Step.Kind.GIFT and t.step.reward_rule]
    assert seeded["touches"] and gifts  # a year of the program: gifts have gone out

    # One "sent by" line per sent touch, at the time it was sent, and none for any other.
    lines = TimelineEntry.objects.filter(kind=TimelineEntry.Kind.TOUCH)
    assert sorted(lines.values_list("source_id", "title", "occurred_at")) == sorted(
        (t.pk, f"{t.step.name} sent by {Channel(t.channel).label}", t.sent_at) for t in sent
    )
    assert not Touch.objects.filter(unsettled=True).exists()
    # Exactly the reward the gift step gives, once per sent gift touch.
    gift_reasons = {t.step.name for t in gifts}
    given = Reward.objects.filter(reason__in=gift_reasons)
    assert Counter(given.values_list("customer_id", "kind", "value", "reason")) == Counter(
        (t.customer_id, t.step.reward_rule.kind, t.step.reward_rule.value, t.step.name)
        for t in gifts
    )


def test_letters_and_calls_are_done_through_their_batches_and_follow_ups(seeded):
    for batch in LetterBatch.objects.filter(posted_at__isnull=False):
        assert set(batch.touches.values_list("status", "sent_at")) == {
            (Touch.Status.SENT, batch.posted_at)
        }
    open_batches = LetterBatch.objects.filter(posted_at__isnull=True)
    assert {t.status for b in open_batches for t in b.touches.all()} <= {Touch.Status.WAITING}
    for touch in Touch.objects.filter(channel=Channel.PHONE, status=Touch.Status.SENT):
        follow_up = touch.customer.follow_ups.get(source=f"touch:{touch.pk}")
        assert follow_up.done_at == touch.sent_at


def test_who_left_the_program_has_nothing_left_scheduled(seeded):
    exited = Enrollment.objects.filter(status=Enrollment.Status.EXITED)
    assert exited.exists()
    assert not Touch.objects.filter(enrollment__in=exited, status=Touch.Status.SCHEDULED).exists()
    for enrollment in exited:
        later = enrollment.touches.filter(due_at__gt=enrollment.ended_at)
        assert set(later.values_list("status", "last_error")) <= {
            (Touch.Status.CANCELLED, f"Enrollment ended: {enrollment.exit_reason}"),
            (Touch.Status.SKIPPED, "No consent on any of the step's channels."),
        }


def test_the_demo_program_holds_out_a_fifth_and_its_lift_recovers_the_stated_effect(seeded):
    from programs.lift_figures import program_lift
    from programs.models import Program

    assert Customer.objects.filter(external_id__startswith="demo-").count() == 200
    program = Program.objects.get(is_prototype=True)

    figures = program_lift(program, window_days=demo.LIFT_WINDOW_DAYS)

    purchase = next(o for o in figures.outcomes if o.metric == "purchase_rate")
    assert program.holdout_share == demo.DEMO_HOLDOUT_SHARE
    assert figures.control_customers > 0
    assert not Touch.objects.filter(
        enrollment__group="holdout", status__in=["sent", "delivered", "waiting"]
    ).exists()
    assert purchase.ci_low <= demo.TRUE_PURCHASE_LIFT <= purchase.ci_high
    assert purchase.difference == pytest.approx(demo.TRUE_PURCHASE_LIFT, abs=1 / 20)
