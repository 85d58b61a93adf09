"""Reward rules: a program step carries one (earned once per touch sent, however often its
settling is tried), and marketers keep the organization's rules on their own page."""

from decimal import Decimal

import pytest
from django.test import Client
from django.utils import timezone

from customers import rewards
from customers.models import Reward, RewardRule
from programs.models import Step, Touch
from programs.settlement import settle
from tests.programs.test_pages import make_customers, make_program, make_touches

pytestmark = pytest.mark.django_db

STEP_POST = {
    "kind": "gift",
    "name": "Welcome gift",
    "anchor": "enrollment",
    "offset_days": "3",
    "channel_mode": "fixed",
    "channel": "email",
    "email_subject": "A gift",
    "email_body": "Dear {{ first_name }}, a gift for you.",
}


def sent_touches(step: Step, count: int) -> list[Touch]:
    now = timezone.now()
    touches = make_touches(step, make_customers(count), status=Touch.Status.SENT, sent_at=now)
    return list(Touch.objects.filter(pk__in=[t.pk for t in touches]).select_related("step"))


def test_the_shipped_gift_step_carries_its_reward_as_a_rule():
    # programs 0019 folded the gift step's own kind and value into a rule it carries.
    step = Step.objects.get(kind=Step.Kind.GIFT, program__name="Eight-step bonding program")
    rule = step.reward_rule
    assert (rule.event, rule.kind, rule.value, rule.unit, rule.active) == (
        "step_sent",
        "gift",
        Decimal(10),
        "money",
        True,
    )


def test_a_step_rule_is_earned_once_per_touch_sent_however_often_settled():
    step = make_program(steps=1).steps.get()
    step.reward_rule = rewards.set_step_rule(
        rule=None, kind=Reward.Kind.GIFT, value=Decimal(5), unit=Reward.Unit.POINTS
    )
    step.save()
    touches = sent_touches(step, 3)
    settle(touches)
    Touch.objects.filter(pk__in=[t.pk for t in touches]).update(unsettled=True)
    settle(touches)  # settled again (a sweeper after a batch): the source key holds
    lines = Reward.objects.filter(source_key__startswith="touch:")
    assert sorted(lines.values_list("source_key", "value", "unit", "kind", "cause")) == sorted(
        (f"touch:{t.pk}", Decimal(5), "points", "gift", "gift_step") for t in touches
    )


def test_a_switched_off_step_rule_gives_nothing():
    step = make_program(steps=1).steps.get()
    step.reward_rule = rewards.set_step_rule(rule=None, kind="gift", value=Decimal(5))
    step.save()
    rewards.switch_off_rule(rule=step.reward_rule)
    settle(sent_touches(step, 2))
    assert not Reward.objects.exists()


def test_the_step_form_sets_changes_and_removes_the_rule(client, marketer):
    client.force_login(marketer)
    program = make_program(steps=1)
    step = program.steps.get()
    url = f"/programs/{program.pk}/steps/{step.pk}/"
    post = {**STEP_POST, "reward_kind": "gift", "reward_value": "10", "reward_unit": "money"}
    assert client.post(url, post).status_code == 302
    step.refresh_from_db()
    rule = step.reward_rule
    assert (rule.event, rule.kind, rule.value, rule.unit, rule.active) == (
        "step_sent",
        "gift",
        Decimal(10),
        "money",
        True,
    )
    assert 'value="10.00"' in client.get(url).content.decode()
    assert client.post(url, {**post, "reward_value": "12"}).status_code == 302
    rule.refresh_from_db()
    assert rule.value == Decimal(12) and RewardRule.objects.filter(steps=step).count() == 1
    assert client.post(url, {**post, "reward_kind": "", "reward_value": "0"}).status_code == 302
    step.refresh_from_db()
    rule.refresh_from_db()
    assert step.reward_rule is None and not rule.active


def test_a_value_without_a_kind_is_a_400_that_changes_nothing(client, marketer):
    client.force_login(marketer)
    program = make_program(steps=1)
    step = program.steps.get()
    post = {**STEP_POST, "reward_kind": "", "reward_value": "10"}
    response = client.post(f"/programs/{program.pk}/steps/{step.pk}/", post)
    assert response.status_code == 400
    step.refresh_from_db()
    assert step.name == "Step 1" and step.reward_rule is None


def test_marketers_add_change_and_switch_off_organization_rules(client, marketer):
    client.force_login(marketer)
    post = {"event": "referral_converted", "value": "20", "unit": "points", "active": "on"}
    assert client.post("/customers/reward-rules/", post).status_code == 302
    organization = RewardRule.objects.exclude(event="step_sent")
    rule = organization.get()
    # A second active rule for the same event: a 400, nothing written.
    response = client.post("/customers/reward-rules/", {**post, "value": "30"})
    assert response.status_code == 400 and organization.count() == 1
    response = client.post(f"/customers/reward-rules/{rule.pk}/", {**post, "value": "25"})
    assert response.status_code == 302
    rule.refresh_from_db()
    assert rule.value == Decimal(25)
    # A rule must give something.
    response = client.post(f"/customers/reward-rules/{rule.pk}/", {**post, "value": "0"})
    assert response.status_code == 400
    rule.refresh_from_db()
    assert rule.value == Decimal(25)
    assert client.post(f"/customers/reward-rules/{rule.pk}/off/").status_code == 302
    rule.refresh_from_db()
    assert not rule.active
    # Off, another can be added for the event.
    assert client.post("/customers/reward-rules/", post).status_code == 302
    assert organization.filter(active=True).count() == 1


def test_a_step_rule_cannot_be_made_on_the_organization_page(client, marketer):
    client.force_login(marketer)
    post = {"event": "step_sent", "value": "5", "unit": "points", "active": "on"}
    before = RewardRule.objects.count()
    assert client.post("/customers/reward-rules/", post).status_code == 400
    assert RewardRule.objects.count() == before


def test_account_managers_get_403_and_forms_need_csrf(client, manager, marketer):
    rule = rewards.set_rule(event="referral_converted", value=Decimal(20))
    client.force_login(manager)
    assert client.get("/customers/reward-rules/").status_code == 403
    assert client.post(f"/customers/reward-rules/{rule.pk}/off/").status_code == 403
    rule.refresh_from_db()
    assert rule.active
    strict = Client(enforce_csrf_checks=True)
    strict.force_login(marketer)
    assert strict.post(f"/customers/reward-rules/{rule.pk}/off/").status_code == 403
    rule.refresh_from_db()
    assert rule.active


def test_the_rules_page_reads_the_same_whatever_the_number_of_rules(
    client, marketer, django_assert_num_queries
):
    client.force_login(marketer)
    rewards.set_rule(event="referral_converted", value=Decimal(20))
    for n in range(3):
        step = make_program(f"P{n}", steps=1).steps.get()
        step.reward_rule = rewards.set_step_rule(rule=None, kind="gift", value=Decimal(n + 1))
        step.save()
    with django_assert_num_queries(6):
        response = client.get("/customers/reward-rules/")
    assert response.status_code == 200
    body = response.content.decode()
    assert "P2: Step 1" in body and "A referral converts" in body


def test_marketers_set_the_goodwill_limit_account_managers_grant_within(client, marketer, manager):
    from django.core.exceptions import PermissionDenied

    from tests.factories import CustomerFactory

    ann = CustomerFactory(owner=manager)
    client.force_login(marketer)
    assert (
        client.post("/customers/reward-rules/goodwill/", {"goodwill_limit": "40"}).status_code
        == 302
    )
    assert rewards.goodwill_limit() == Decimal(40)
    assert 'value="40.00"' in client.get("/customers/reward-rules/").content.decode()
    rewards.grant(customer=ann, value=Decimal(40), reason="Sorry", by=manager)
    with pytest.raises(PermissionDenied):
        rewards.grant(customer=ann, value=Decimal("40.01"), reason="Sorry", by=manager)
    # Bad input: a 400 that changes nothing.
    for bad in ("-1", "lots", ""):
        response = client.post("/customers/reward-rules/goodwill/", {"goodwill_limit": bad})
        assert response.status_code == 400
    assert rewards.goodwill_limit() == Decimal(40)
    client.force_login(manager)
    assert (
        client.post("/customers/reward-rules/goodwill/", {"goodwill_limit": "999"}).status_code
        == 403
    )
    assert rewards.goodwill_limit() == Decimal(40)


def test_the_migration_carries_the_settings_limit(settings):
    from importlib import import_module

    from django.apps import apps

    from customers.models import RewardPolicy

    migration = import_module("customers.migrations.0027_goodwill_limit_of_the_organization")
    RewardPolicy.objects.all().delete()
    settings.REWARD_GOODWILL_LIMIT = 33
    assert rewards.goodwill_limit() == Decimal(33)  # no row: the setting
    migration.carry_the_setting(apps, None)
    settings.REWARD_GOODWILL_LIMIT = 5
    assert rewards.goodwill_limit() == Decimal(33)  # the organization's value now
