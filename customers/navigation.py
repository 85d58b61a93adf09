"""Where a page sends the browser back to after a form: only ever somewhere on this site."""

from django.http import HttpRequest, HttpResponseRedirect
from django.shortcuts import redirect
from django.utils.http import url_has_allowed_host_and_scheme


def back_to(request: HttpRequest, default: str, *args) -> HttpResponseRedirect:
    """Redirect to the posted `next` when it is a path of this site, else to `default` (a URL or
    a URL name with `args`): `next=https://evil.example/` or `//evil.example/` is ignored."""
    target = request.POST.get("next", "")
    # A path of this site only: no other host, no scheme, nothing relative to guess at.
    if target.startswith("/") and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return HttpResponseRedirect(target)  # a URL, never read as a view name
    return redirect(default, *args)
