"""A scene with one of each object a URL can name, and the URL of a route name in it."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from customers.models import ImportJob, Tier
from nps.links import new_token
from nps.models import Invitation, Survey, Theme
from programs.models import Enrollment, LetterBatch, Program, Touch, UnsubscribeToken
from tests.factories import (
    AccountFactory,
    ComplaintFactory,
    CustomerFactory,
    FollowUpFactory,
    InteractionFactory,
)

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
    "-": None,
}


@pytest.fixture
def scene(manager, other_manager):
    """One of each object a URL can name: `own` ones belong to `manager`, `other` to another."""
    program = Program.objects.order_by("id").first()
    step = program.steps.order_by("order").first()
    survey = Survey.objects.order_by("id").first()
    objects = {}
    for whose, owner in (("own", manager), ("other", other_manager)):
        customer = CustomerFactory(owner=owner, consent_email=True)
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
        objects[whose] = {
            "customer": customer.pk,
            "complaint_id": ComplaintFactory(customer=customer).pk,
            "follow_up_id": FollowUpFactory(customer=customer).pk,
            "interaction": InteractionFactory(customer=customer).pk,
            "job": ImportJob.objects.create(created_by=owner, filename="people.csv").pk,
            "touch_id": touch.pk,
            "survey_token": invitation.token,
            "unsubscribe_token": unsubscribe.token,
            "account": AccountFactory().pk,
            "program": program.pk,
            "step_id": step.pk,
            "batch": LetterBatch.objects.create().pk,
            "survey": survey.pk,
            "theme": Theme.objects.create(language="en", name="late, delivery", terms=["late"]).pk,
            "widget": "pyramid",
            "slug": Tier.objects.order_by("rank").first().slug,
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
        "programs:step_delete": ["step_id"],
        "programs:step_move": ["step_id"],
        "dashboard_export": ["widget"],
        "tier-detail": ["slug"],
    }
    kwargs = {key: values[key] for key in pattern_kwargs.get(name, [])}
    if PK_OF[pk_of]:
        kwargs["pk"] = values[PK_OF[pk_of]]
    if name in ("survey", "survey_thanks"):
        kwargs["token"] = values["survey_token"]
    if name.startswith("programs:unsubscribe"):
        kwargs["token"] = values["unsubscribe_token"]
    return reverse(name, kwargs=kwargs)
