"""The ladder status of one customer: GET /api/v1/customers/{id}/ladder/."""

from drf_spectacular.utils import extend_schema
from rest_framework import serializers, viewsets
from rest_framework.response import Response

from customers import queries
from customers.known_parameters import KnownParameters
from customers.models import Customer


class LadderStatusSerializer(serializers.Serializer):
    """Rung, next rung and what is missing for it, review date, and what keeps the rung."""

    tier = serializers.SlugField(source="tier.slug", allow_null=True)
    next_tier = serializers.SlugField(source="next_tier.slug", allow_null=True)
    to_next = serializers.ListField(child=serializers.CharField())
    review_on = serializers.DateField(allow_null=True)
    at_risk = serializers.BooleanField()
    at_risk_until = serializers.DateField(allow_null=True)
    to_keep = serializers.ListField(child=serializers.CharField())


class CustomerLadderViewSet(KnownParameters, viewsets.GenericViewSet):
    """The ladder status of a customer the caller may see (404 otherwise)."""

    serializer_class = LadderStatusSerializer
    pagination_class = None
    # For the schema only: the customer is looked up by customer_for, as the caller may see.
    queryset = Customer.objects.none()

    @extend_schema(responses={200: LadderStatusSerializer})
    def list(self, request, pk: str):
        customer = queries.customer_for(request.user, int(pk))
        return Response(LadderStatusSerializer(queries.ladder_status(customer)).data)


def register(router) -> None:
    """Put the ladder status on the API router, beside the customer it belongs to."""
    router.register(r"customers/(?P<pk>[0-9]+)/ladder", CustomerLadderViewSet, "customer-ladder")
