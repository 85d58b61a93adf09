"""The marketers' page of replies (texts and e-mails) from unknown senders, each to assign to a
customer or dismiss."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext
from django.views.decorators.http import require_POST

from customers import pages
from programs import queries, sms_events
from programs.forms import AssignReplyForm
from programs.models import UnmatchedReply

PAGE_SIZE = 50


def reply_list(request: HttpRequest) -> HttpResponse:
    """Waiting replies from numbers and addresses no customer has, newest first."""
    pages.marketers_only(request)
    page = queries.unmatched_replies(number=pages.page_number(request), size=PAGE_SIZE)
    return render(
        request, "programs/unmatched_replies.html", {"page": page, "form": AssignReplyForm()}
    )


@require_POST
def reply_assign(request: HttpRequest, pk: int) -> HttpResponse:
    """Put a reply on the timeline of the customer it is from."""
    pages.marketers_only(request)
    reply = get_object_or_404(UnmatchedReply, pk=pk)
    form = AssignReplyForm(request.POST)
    if not form.is_valid():
        return _refused(request, form, pk)
    customer = form.cleaned_data["customer"]
    try:
        assigned = sms_events.assign_reply(reply=reply, customer=customer, by=request.user)
    except ValidationError as error:
        # An unreadable reply offers no assign control: only a forged POST gets here.
        form.add_error(None, error)
        return _refused(request, form, pk)
    if assigned:
        messages.success(
            request, gettext("The reply is on %(customer)s's timeline.") % {"customer": customer}
        )
    else:
        messages.warning(request, gettext("That reply was already assigned or dismissed."))
    return redirect(reverse("programs:unmatched_replies"))


def _refused(request: HttpRequest, form: AssignReplyForm, pk: int) -> HttpResponse:
    """The list again, the refused form's errors beside its reply; nothing changed."""
    page = queries.unmatched_replies(number=1, size=PAGE_SIZE)
    context = {"page": page, "form": AssignReplyForm(), "failed": form, "failed_pk": pk}
    return render(request, "programs/unmatched_replies.html", context, status=400)


@require_POST
def reply_dismiss(request: HttpRequest, pk: int) -> HttpResponse:
    """Take a reply off the list without putting it on anyone's timeline."""
    pages.marketers_only(request)
    reply = get_object_or_404(UnmatchedReply, pk=pk)
    if sms_events.dismiss_reply(reply=reply, by=request.user):
        messages.success(request, gettext("The reply is dismissed."))
    else:
        messages.warning(request, gettext("That reply was already assigned or dismissed."))
    return redirect(reverse("programs:unmatched_replies"))
