"""One API shape for doing something to many customers named by id: enroll them in a program,
invite them to a survey. The caller names a target and the customers; customers the caller may
not see are reported like ones that do not exist, so ids tell nothing about other owners."""

from typing import Any, ClassVar

from django.db.models import Model
from django.utils.translation import gettext, gettext_lazy
from rest_framework import exceptions, serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from customers import queries
from customers.models import Customer

# The largest id PostgreSQL's bigint holds: a bigger one names nothing and is refused as input.
BIGINT_MAX = 2**63 - 1

# A paused target takes nobody, said per kind (a translation needs the whole sentence).
PAUSED = {
    "program": gettext_lazy("This program is paused."),
    "survey": gettext_lazy("This survey is paused."),
    "": gettext_lazy("This is paused."),
}


def customer_ids(*, max_length: int) -> serializers.ListField:
    """The request's list of customer ids, at least one, bounded in count and size."""
    return serializers.ListField(
        child=serializers.IntegerField(min_value=1, max_value=BIGINT_MAX),
        allow_empty=False,
        max_length=max_length,
    )


class CustomersAction(APIView):
    """POST `{<target>: id, "customers": [ids]}`: validates the body, refuses a paused target,
    keeps the customers the caller sees and lets `act` do the work; the answer is what `act`
    reports, with `skipped` listing every id it did not act on and why."""

    request_serializer: ClassVar[type[serializers.Serializer]]
    target: ClassVar[str]  # the body's field naming the program, the survey, ...

    def act(self, request: Request, target: Model, customers: list[Customer]) -> dict[str, Any]:
        """Do the thing; return the answer's fields, `skipped` among them."""
        raise NotImplementedError

    def post(self, request: Request) -> Response:
        body = self.request_serializer(data=request.data)
        body.is_valid(raise_exception=True)
        target = body.validated_data[self.target]
        if not target.is_active:
            raise exceptions.ValidationError(
                {self.target: [str(PAUSED.get(self.target, PAUSED[""]))]}
            )
        wanted = list(dict.fromkeys(body.validated_data["customers"]))
        visible = queries.visible_customers(request.user).filter(pk__in=wanted)
        found = {customer.pk: customer for customer in visible}
        answer = self.act(request, target, list(found.values()))
        missing = [
            {"customer": pk, "reason": gettext("no such customer")}
            for pk in wanted
            if pk not in found
        ]
        answer["skipped"] = list(answer.get("skipped", [])) + missing
        return Response(answer)
