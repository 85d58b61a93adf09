"""Saved segments in the API: the caller's segments (everyone's for marketers), saving one, and
the customers a segment holds now."""

from django.core.exceptions import ValidationError
from django.http import QueryDict
from django.utils.translation import gettext
from drf_spectacular.utils import extend_schema
from rest_framework import exceptions, mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from customers import queries, segments
from customers.api import CustomerSerializer, customers_page
from customers.filters import segment_customers
from customers.known_parameters import KnownParameters
from customers.models import Segment


class SegmentSerializer(serializers.ModelSerializer):
    """A segment: its name, its author and the customer list's filters it saved."""

    owner = serializers.SlugRelatedField(slug_field="username", read_only=True)
    filters = serializers.DictField(
        child=serializers.ListField(child=serializers.CharField(max_length=200), max_length=20),
        required=False,
        help_text='The customer list\'s filters, {"name": ["value", ...]}, e.g. '
        '{"audience": ["b2b"], "risk": ["high"]}.',
    )

    class Meta:
        model = Segment
        fields = ["id", "name", "owner", "filters", "created_at", "updated_at"]
        read_only_fields = ["id", "owner", "created_at", "updated_at"]


class SegmentViewSet(
    KnownParameters, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet
):
    """Segments the caller may use; POST saves one; `customers` lists who is in one now."""

    serializer_class = SegmentSerializer
    keyset_default_ordering = "id"

    def get_queryset(self):
        return queries.segments_for(self.request.user)

    def create(self, request, *args, **kwargs):
        body = self.get_serializer(data=request.data)
        body.is_valid(raise_exception=True)
        query = QueryDict(mutable=True)
        for name, values in body.validated_data.get("filters", {}).items():
            query.setlist(name, values)
        unknown = sorted(set(query) - set(segments.clean_known(query)))
        if unknown:
            raise exceptions.ValidationError(
                {
                    "filters": [
                        gettext("Not a filter of the customer list: %(names)s.")
                        % {"names": ", ".join(unknown)}
                    ]
                }
            )
        try:
            segment = segments.save_segment(
                owner=request.user, name=body.validated_data["name"], query=query
            )
        except ValidationError as error:
            raise exceptions.ValidationError(error.message_dict) from None
        return Response(self.get_serializer(segment).data, status=status.HTTP_201_CREATED)

    @extend_schema(responses={200: CustomerSerializer(many=True)}, filters=False)
    @action(detail=True, methods=["get"], serializer_class=CustomerSerializer)
    def customers(self, request, pk=None):
        """The customers in the segment now, by id, in cursor pages."""
        segment = self.get_object()
        return customers_page(self, request, segment_customers(segment))


def register(router) -> None:
    """Put the segments on the API router."""
    router.register("segments", SegmentViewSet, basename="segment")
