"""A scene with one of each object a URL can name, and the URL of a route name in it."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from customers import rewards
from customers.models import ImportJob, RewardRule, Segment, StaticList, Tier, Topic
from customers.preferences import preference_token
from events.models import Event
from events.models import Invitation as EventInvitation
from nps.links import new_token
from nps.models import Invitation, Survey, Theme
from programs import clicks
from programs.models import (
    Enrollment,
    LetterBatch,
    Program,
    Touch,
    UnmatchedReply,
    UnsubscribeToken,
)
from tests.factories import (
    AccountFactory,
    ComplaintFactory,
    ContractFactory,
    CustomerFactory,
    FollowUpFactory,
    InteractionFactory,
    ReferralFactory,
)
from webhooks import subscriptions

# What a URL's <pk> names, when the URL has one.
PK_OF = {
    "customer": "customer",
    "account": "account",
    "job": "job",
    "program": "program",
    "batch": "batch",
    "survey": "survey",
    "theme": "theme",
    "interaction": "interaction",
    "complaint": "complaint",
    "follow_up": "follow_up",
    "contract": "contract",
    "referral": "referral",
    "reply": "reply",
    "webhook": "webhook",
    "topic": "topic",
    "segment": "segment",
    "list": "list",
    "reward_rule": "reward_rule",
    "reward": "reward",
    "event": "event",
    "-": None,
}


@pytest.fixture
def scene(manager, other_manager):
    return build_scene(manager, other_manager)


def build_scene(manager, other_manager) -> dict[str, dict]:
    """One of each object a URL can name: `own` ones belong to `manager`, `other` to another."""
    program = Program.objects.order_by("id").first()
    step = program.steps.order_by("order").first()
    survey = Survey.objects.order_by("id").first()
    objects = {}
    for whose, owner in (("own", manager), ("other", other_manager)):
        # The account is the customer's: an account manager reads the accounts of their own.
        account = AccountFactory()
        customer = CustomerFactory(
            owner=owner, consent_email=True, account=account, external_id=f"{whose}-1"
        )
        enrollment = Enrollment.objects.create(program=program, customer=customer)
        touch = Touch.objects.create(
            enrollment=enrollment,
            step=step,
            customer=customer,
            channel="email",
            due_at=timezone.now(),
            status=Touch.Status.FAILED,
        )
        invitation = Invitation.objects.create(
            survey=survey,
            customer=customer,
            token=new_token(),
            expires_at=timezone.now() + timedelta(days=30),
        )
        unsubscribe = UnsubscribeToken.objects.create(
            token=new_token(), customer=customer, channel="email"
        )
        complaint = ComplaintFactory(customer=customer)
        referral = ReferralFactory(referrer=customer)
        follow_up = FollowUpFactory(customer=customer)
        event = Event.objects.create(
            name=f"Owners' evening ({whose})",
            starts_at=timezone.now() + timedelta(days=10),
            ends_at=timezone.now() + timedelta(days=10, hours=3),
            place="The Old Mill",
            capacity=20,
            status=Event.Status.OPEN,
        )
        event_invitation = EventInvitation.objects.create(
            event=event, customer=customer, token=new_token()
        )
        reward = rewards.grant(customer=customer, value=Decimal(10), reason="Roles table")
        rule_event = {
            "own": RewardRule.Event.REFERRAL_CONVERTED,
            "other": RewardRule.Event.FRIEND_FIRST_PURCHASE,
        }[whose]
        objects[whose] = {
            "customer": customer.pk,
            "webhook": subscriptions.subscribe(
                owner=owner, url=f"https://{whose}.example/hooks", events=["tier.changed"]
            ).pk,
            "complaint": complaint.pk,
            "complaint_id": complaint.pk,
            "follow_up": follow_up.pk,
            "follow_up_id": follow_up.pk,
            "interaction": InteractionFactory(customer=customer).pk,
            "job": ImportJob.objects.create(created_by=owner, filename="people.csv").pk,
            "touch_id": touch.pk,
            "survey_token": invitation.token,
            "unsubscribe_token": unsubscribe.token,
            "account": account.pk,
            "external_id": customer.external_id,
            "contract": ContractFactory(customer=customer).pk,
            "referral": referral.pk,
            "referral_code": referral.code,
            "preference_token": preference_token(customer=customer),
            "program": program.pk,
            "step_id": step.pk,
            "batch": LetterBatch.objects.create().pk,
            "reply": UnmatchedReply.objects.create(phone="+14155550199", body="Who is this?").pk,
            "survey": survey.pk,
            "event": event.pk,
            "event_token": event_invitation.token,
            "theme": Theme.objects.create(language="en", name="late, delivery", terms=["late"]).pk,
            "topic": Topic.objects.create(name=f"Topic {whose}").pk,
            "widget": "pyramid",
            "slug": Tier.objects.order_by("rank").first().slug,
            "segment": Segment.objects.create(owner=owner, name=f"{whose} segment").pk,
            "list": StaticList.objects.create(owner=owner, name=f"{whose} list").pk,
            # An organization's rule (the page edits those; a step's rule is edited on its step).
            "reward_rule": RewardRule.objects.create(event=rule_event, value=Decimal(5)).pk,
            "reward": reward.pk,
            "reward_id": reward.pk,
        }
    return objects


def url_for(name: str, pk_of: str, values: dict) -> str:
    """The URL of route `name`, its path parameters taken from one side of the scene."""
    pattern_kwargs = {
        "customers:resolve_complaint": ["complaint_id"],
        "customers:follow_up_done": ["follow_up_id"],
        "programs:retry": ["touch_id"],
        "programs:dismiss": ["touch_id"],
        "programs:step_edit": ["step_id"],
        "programs:step_variants": ["step_id"],
        "customers:reverse_reward": ["reward_id"],
        "programs:promote_variant": ["step_id"],
        "program-step-variants": ["step_id"],
        "program-promote-variant": ["step_id"],
        "programs:step_delete": ["step_id"],
        "programs:step_move": ["step_id"],
        "dashboard_export": ["widget"],
        "tier-detail": ["slug"],
        "customer-by-external-id": ["external_id"],
    }
    kwargs = {key: values[key] for key in pattern_kwargs.get(name, [])}
    if PK_OF[pk_of]:
        kwargs["pk"] = values[PK_OF[pk_of]]
    if name in ("survey", "survey_thanks"):
        kwargs["token"] = values["survey_token"]
    if name.startswith("programs:unsubscribe"):
        kwargs["token"] = values["unsubscribe_token"]
    if name == "referral_page":
        kwargs["code"] = values["referral_code"]
    if name == "programs:click":
        kwargs["token"] = clicks.token_for(values["touch_id"], "https://example.com/offer")
    if name == "preference_page":
        kwargs["token"] = values["preference_token"]
    if name in ("event_invitation", "event_ics"):
        kwargs["token"] = values["event_token"]
    return reverse(name, kwargs=kwargs)
