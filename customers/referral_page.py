"""The public page a customer's friend signs up on with the customer's referral code."""

from django.conf import settings
from django.contrib.auth.decorators import login_not_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from customers import referrals
from customers.languages import speaking_to
from customers.models import Channel, Referral
from customers.rows import clean_row
from nps.public import over_public_limit

# The channels a friend may say yes to on the page (a letter needs an address we do not ask).
CONSENT_CHANNELS = [Channel.EMAIL, Channel.SMS, Channel.PHONE]
NAME_FIELDS = ("first_name", "last_name")


@login_not_required
@csrf_exempt
@never_cache
@require_http_methods(["GET", "HEAD", "POST"])
def referral_page(request: HttpRequest, code: str) -> HttpResponse:
    """A friend leaves their name, e-mail and/or phone and which ways we may contact them.

    No CSRF check: the page acts for no one (it ignores any session, and the code is public),
    so a forged post could do no more than the form itself, while a friend who blocks cookies
    must still be able to sign up. The rate limit is what keeps it from being flooded.
    """
    if over_public_limit(request, scope="referral", per_minute=settings.REFERRAL_RATE_PER_MINUTE):
        return render(request, "nps/too_many.html", status=429)
    referral = referrals.open_referral(code)
    if referral is None:
        return render(request, "customers/referral_unknown.html", status=404)
    # A friend is spoken to in the referring customer's language, the likeliest to be theirs.
    with speaking_to(referral.referrer, request):
        return _page(request, referral)


def _page(request: HttpRequest, referral: Referral) -> HttpResponse:
    values = dict.fromkeys((*NAME_FIELDS, "email", "phone"), "")
    consents: dict[str, bool] = {}
    errors: dict[str, list[str]] = {}
    if request.method == "POST":
        values = {name: request.POST.get(name, "") for name in values}
        consents = {c: request.POST.get(f"consent_{c}") == "on" for c in CONSENT_CHANNELS}
        row = clean_row(
            {**values, "consents": consents},
            phone_region=settings.PHONE_REGION,
            require_external_id=False,
        )
        if not row.values.get("first_name"):
            row.fail("first_name", _("Tell us your first name."))
        if not (row.values.get("email") or row.values.get("phone")):
            row.fail("email", _("Leave an e-mail address or a phone number."))
        if not row.errors:
            outcome = referrals.sign_up_friend(referral=referral, row=row)
            errors = outcome.errors
            if not errors:
                return render(request, "customers/referral_thanks.html", {"referral": referral})
        else:
            errors = row.errors
        if "code" in errors:
            return render(request, "customers/referral_unknown.html", status=410)
    context = {
        "referral": referral,
        "referrer_name": referral.referrer.first_name or str(referral.referrer),
        "values": values,
        "consents": consents,
        "channels": [(c.value, c.label) for c in CONSENT_CHANNELS],
        "errors": errors,
    }
    return render(request, "customers/referral.html", context, status=400 if errors else 200)
