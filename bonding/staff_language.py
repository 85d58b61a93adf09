"""A staff user's language: chosen at /settings/language/, kept in their row and, for every
request without a query, in their session; a small middleware activates it."""

from collections.abc import Callable

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.contrib.auth.models import User
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import translation
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from bonding.models import StaffLanguage

SESSION_KEY = "staff_language"
CODES = frozenset(code for code, _name in settings.LANGUAGES)


def set_language(*, user: User, language: str) -> StaffLanguage:
    """Keep the user's choice ("" follows the browser); a code we do not speak is refused."""
    if language and language not in CODES:
        raise ValueError(f"Not a language we speak: {language}")
    choice, _created = StaffLanguage.objects.update_or_create(
        user=user, defaults={"language": language}
    )
    return choice


def chosen_language(user_id: int) -> str:
    """The language the user chose, "" when they follow the browser (one query)."""
    choice = StaffLanguage.objects.filter(user_id=user_id).values_list("language", flat=True)
    return choice.first() or ""


def remember_on_sign_in(sender, request: HttpRequest, user: User, **kwargs) -> None:
    """Copy the user's choice into the new session (one query, at sign-in only)."""
    if request is None or not hasattr(request, "session"):
        return
    request.session[SESSION_KEY] = chosen_language(user.pk)


class StaffLanguageMiddleware:
    """After LocaleMiddleware and sign-in: the user's own choice overrides the browser's."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        session = getattr(request, "session", None)
        chosen = session.get(SESSION_KEY, "") if session is not None else ""
        if chosen in CODES:
            translation.activate(chosen)
            request.LANGUAGE_CODE = chosen
        return self.get_response(request)


@login_required
@require_http_methods(["GET", "POST"])
def language_page(request: HttpRequest) -> HttpResponse:
    """Choose the language of the pages: one of ours, or the browser's."""
    current = request.session.get(SESSION_KEY, "")
    error = ""
    if request.method == "POST":
        chosen = request.POST.get("language", "")
        if chosen and chosen not in CODES:
            error = _("Choose one of the languages offered.")
        else:
            set_language(user=request.user, language=chosen)
            request.session[SESSION_KEY] = chosen
            return redirect("staff_language")
    languages = [
        (code, translation.get_language_info(code)["name_local"]) for code, _n in settings.LANGUAGES
    ]
    context = {"languages": languages, "current": current, "error": error}
    return render(request, "bonding/language.html", context, status=400 if error else 200)
