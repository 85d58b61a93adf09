"""The enroll page's "keep enrolling this segment": follow it, and take in who is in it now."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.utils.translation import gettext

from customers import queries as customer_queries
from customers.filters import segment_customers
from customers.models import Segment
from programs import segment_enrollment
from programs.models import Program
from programs.tasks import enroll_segment_newcomers_task

# Up to this many are enrolled during the request; more are left to the task (and beat).
FOLLOW_NOW_LIMIT = 500


def follow_chosen_segment(request: HttpRequest, program: Program, segment: Segment) -> HttpResponse:
    try:
        follow = segment_enrollment.follow_segment(
            program=program, segment=segment, by=request.user
        )
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
        return redirect(request.get_full_path())
    members = customer_queries.bounded_count(segment_customers(segment), bound=FOLLOW_NOW_LIMIT)
    if members <= FOLLOW_NOW_LIMIT:
        enrolled = segment_enrollment.enroll_newcomers(follows=[follow])
        now = gettext("%(enrolled)s enrolled now") % {"enrolled": enrolled}
    else:
        transaction.on_commit(enroll_segment_newcomers_task.delay)
        now = gettext("Its customers are being enrolled in the background")
    messages.success(
        request,
        gettext(
            "%(program)s now follows the segment “%(segment)s”. %(now)s; customers who enter "
            "it later are enrolled within a few minutes."
        )
        % {"program": program.name, "segment": segment.name, "now": now},
    )
    return redirect("programs:funnel", pk=program.pk)
