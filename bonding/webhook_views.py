"""The webhooks settings pages: marketers and admins subscribe endpoints, rotate secrets,
enable, remove, replay, and read each endpoint's delivery log."""

from datetime import timedelta

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext

from customers.pages import marketers_only
from webhooks import subscriptions
from webhooks.models import EVENT_TYPES, Delivery, Endpoint

LOG_ROWS = 50


class EndpointForm(forms.Form):
    """A new subscription."""

    url = forms.URLField(max_length=500, assume_scheme="https")
    events = forms.MultipleChoiceField(
        choices=[(name, name) for name in EVENT_TYPES], widget=forms.CheckboxSelectMultiple
    )
    description = forms.CharField(max_length=200, required=False)


class ReplayForm(forms.Form):
    """One event by its id, or everything since a time."""

    event = forms.RegexField(r"^msg_[0-9a-f]{1,36}$", required=False)
    since = forms.DateTimeField(required=False)

    def clean(self):
        data = super().clean()
        if bool(data.get("event")) == bool(data.get("since")):
            raise ValidationError(gettext("Give either an event id or a time to replay from."))
        return data


def _shown_once(request: HttpRequest, endpoint: Endpoint, context: dict) -> HttpResponse:
    context = {**context, "new_secret": endpoint.secret}
    response = render(request, "bonding/webhook.html", context)
    response["Cache-Control"] = "no-store"  # the page carries a secret
    return response


def webhooks_settings(request: HttpRequest) -> HttpResponse:
    """The endpoints and a form to subscribe a new one (its secret is shown once)."""
    marketers_only(request)
    form = EndpointForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            endpoint = subscriptions.subscribe(owner=request.user, **form.cleaned_data)
        except ValidationError as refused:
            # What only the service knows (an address inside this network) goes on the form.
            for field, errors in refused.message_dict.items():
                for error in errors:
                    form.add_error(field if field in form.fields else None, error)
        else:
            messages.success(request, gettext("Subscribed %(url)s.") % {"url": endpoint.url})
            return _shown_once(request, endpoint, _detail_context(endpoint))
    endpoints = Endpoint.objects.select_related("owner")
    status = 400 if request.method == "POST" else 200
    return render(
        request, "bonding/webhooks.html", {"endpoints": endpoints, "form": form}, status=status
    )


def _detail_context(endpoint: Endpoint) -> dict:
    log = Delivery.objects.filter(endpoint=endpoint).select_related("event").order_by("-id")
    return {"endpoint": endpoint, "log": log[:LOG_ROWS], "replay_form": ReplayForm()}


def webhook(request: HttpRequest, pk: int) -> HttpResponse:
    """One endpoint: its delivery log; rotate its secret, enable, remove, replay."""
    marketers_only(request)
    endpoint = get_object_or_404(Endpoint.objects.select_related("owner"), pk=pk)
    if request.method == "POST":
        action = request.POST.get("action")
        if action == "rotate":
            subscriptions.rotate_secret(endpoint=endpoint, overlap=timedelta(hours=24))
            messages.success(request, gettext("New secret; the old one also signs for 24 hours."))
            return _shown_once(request, endpoint, _detail_context(endpoint))
        if action == "enable":
            subscriptions.enable(endpoint=endpoint)
            messages.success(request, gettext("Enabled: what waited goes out in order."))
        elif action == "delete":
            subscriptions.remove(endpoint=endpoint)
            messages.success(request, gettext("Removed %(url)s.") % {"url": endpoint.url})
            return redirect("webhooks_settings")
        elif action == "replay":
            form = ReplayForm(request.POST)
            if form.is_valid():
                count = subscriptions.replay(
                    endpoint=endpoint,
                    message_id=form.cleaned_data["event"] or None,
                    since=form.cleaned_data["since"],
                )
                messages.success(
                    request, gettext("%(count)s events will be sent again.") % {"count": count}
                )
            else:
                messages.error(request, " ".join(m for e in form.errors.values() for m in e))
        else:
            messages.error(request, gettext("Choose what to do."))
        return redirect("webhook", pk=endpoint.pk)
    return render(request, "bonding/webhook.html", _detail_context(endpoint))
