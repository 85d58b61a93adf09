"""Lists that refuse query parameters they do not know.

A filter a list does not have used to be ignored, so `?external_idd=a` answered every row, which
a client reads as "everything matches". Every API list mixes in KnownParameters: a parameter that
is not among its filters, its pagination's parameters, `format` or the ones the view reads itself
(`query_parameters`) is a 400 naming it and the ones the list accepts.
"""

from typing import ClassVar

from django.utils.translation import gettext
from rest_framework import exceptions
from rest_framework.settings import api_settings


class KnownParameters:
    """Mixin for API viewsets: a GET of a list (or of another collection action) answers 400 to
    a query parameter it does not know. Goes before the viewset's own classes."""

    # Parameters the view (or an action, through @action(query_parameters=...)) reads itself.
    query_parameters: ClassVar[tuple[str, ...]] = ()

    def accepted_parameters(self) -> set[str]:
        """Every query parameter this list reads."""
        accepted = {api_settings.URL_FORMAT_OVERRIDE, *self.query_parameters}
        filterset_class = getattr(self, "filterset_class", None)
        if filterset_class is not None:
            accepted.update(filterset_class.base_filters)
        paginator = getattr(self, "paginator", None)
        if paginator is not None:
            accepted.update(p["name"] for p in paginator.get_schema_operation_parameters(self))
        accepted.discard(None)
        return accepted

    def initial(self, request, *args, **kwargs):
        # After authentication and permissions: a stranger learns nothing of the parameters.
        super().initial(request, *args, **kwargs)
        if request.method not in ("GET", "HEAD") or getattr(self, "detail", None) is not False:
            return
        accepted = self.accepted_parameters()
        unknown = sorted(set(request.query_params) - accepted)
        if unknown:
            message = gettext("Unknown parameter; this list accepts: %(names)s.") % {
                "names": ", ".join(sorted(accepted))
            }
            raise exceptions.ValidationError({name: [message] for name in unknown})
