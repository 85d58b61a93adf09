"""REST API of the preference center: the topics customers may choose (read by sync clients,
who set each customer's `topics` and `frequency` on the customer itself)."""

from rest_framework import serializers, viewsets

from customers.known_parameters import KnownParameters
from customers.models import Topic


class TopicSerializer(serializers.ModelSerializer):
    """A topic customers may ask to hear about."""

    class Meta:
        model = Topic
        fields = ["id", "name", "description", "is_active"]


class TopicViewSet(KnownParameters, viewsets.ReadOnlyModelViewSet):
    """The topics, by name; a short list, so not paged."""

    serializer_class = TopicSerializer
    queryset = Topic.objects.order_by("name")
    pagination_class = None


def register(router) -> None:
    """Put this module's endpoints on the API router."""
    router.register("topics", TopicViewSet, basename="topic")
