"""The public preference center `/p/<token>/`: a customer says how, how often and about what
we may contact them, and, if they like, what they value."""

from django.conf import settings
from django.contrib.auth.decorators import login_not_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import translation
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from customers import preferences
from customers.languages import speaking_to
from customers.models import Channel, Customer, Frequency, Topic, ValueQuestion
from nps.public import over_public_limit


def _private(response: HttpResponse) -> HttpResponse:
    response["Referrer-Policy"] = "no-referrer"  # the token is in the URL
    return response


@login_not_required
@csrf_exempt
@never_cache
@require_http_methods(["GET", "HEAD", "POST"])
def preference_page(request: HttpRequest, token: str) -> HttpResponse:
    """GET: the customer's current choices. POST: store them (all or nothing).

    No CSRF check, as on the unsubscribe and survey pages: the unguessable token in the URL
    is the credential and the page ignores any session, so a forged post without the token is
    a 404, while a customer who blocks cookies must still be able to change their mind. The
    rate limit keeps tokens from being guessed.
    """
    if over_public_limit(
        request, scope="preferences", per_minute=settings.PREFERENCES_RATE_PER_MINUTE
    ):
        return _private(render(request, "nps/too_many.html", status=429))
    customer = preferences.customer_for_token(token)
    if customer is None:
        return _private(render(request, "customers/preferences_unknown.html", status=404))
    topics = list(Topic.objects.filter(is_active=True))
    if request.method != "POST":
        values = _current(customer)
        with speaking_to(customer, request):
            page = render(request, "customers/preferences.html", _context(values, topics))
        return _private(page)
    values = {
        "consents": {c: request.POST.get(f"consent_{c}") == "on" for c in Channel.values},
        "preferred_channel": request.POST.get("preferred_channel", ""),
        "frequency": request.POST.get("frequency", ""),
        "language": request.POST.get("language"),
        "topic_ids": request.POST.getlist("topics"),
        "answers": {q: request.POST.get(f"answer_{q}", "") for q in ValueQuestion.values},
    }
    with speaking_to(customer, request):
        choices, errors = preferences.check_choices(**values)
        if choices is None:
            context = _context(values, topics, errors)
            return _private(render(request, "customers/preferences.html", context, status=400))
    # The timeline is the staff's: its lines are written in the organization's language.
    with translation.override(settings.LANGUAGE_CODE):
        preferences.set_preferences(customer=customer, choices=choices)
    values = _current(customer)
    context = _context(values, topics, saved=True)
    # The thanks speaks the language just chosen.
    with speaking_to(customer, request):
        return _private(render(request, "customers/preferences.html", context))


def _current(customer: Customer) -> dict:
    return {
        "consents": customer.consents(),
        "preferred_channel": customer.preferred_channel,
        "frequency": customer.frequency,
        "language": customer.language,
        "topic_ids": [str(pk) for pk in customer.topics.values_list("pk", flat=True)],
        # The questions start empty each time: an answer is kept, not edited.
        "answers": {},
    }


def _context(values: dict, topics: list[Topic], errors=None, saved: bool = False) -> dict:
    return {
        "channels": [(c.value, c.label, values["consents"].get(c.value, False)) for c in Channel],
        "preferred_channel": values["preferred_channel"],
        "frequency": values["frequency"],
        "frequencies": Frequency.choices,
        "language": values["language"],
        # Each language in its own words: a reader finds theirs whatever the page speaks.
        "languages": [
            (code, translation.get_language_info(code)["name_local"])
            for code, _name in settings.LANGUAGES
        ],
        "topics": [(t, str(t.pk) in values["topic_ids"]) for t in topics],
        "questions": [
            (question.value, question.label, values["answers"].get(question.value, ""))
            for question in ValueQuestion
        ],
        "errors": errors or {},
        "saved": saved,
    }
