"""The webhooks API: subscriptions (marketers and admins), their delivery log and replays.

Here in the project, not in the webhooks app: the API's conventions (roles, known parameters,
cursor pages) live in customers, above webhooks.
"""

from datetime import timedelta

from django.utils.translation import gettext
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import exceptions, mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from customers import queries
from customers.known_parameters import KnownParameters
from webhooks import subscriptions
from webhooks.models import EVENT_TYPES, Delivery, Endpoint


class EndpointSerializer(serializers.ModelSerializer):
    """A subscription; its secret is shown once, when it is made or rotated."""

    owner = serializers.SlugRelatedField(slug_field="username", read_only=True)
    events = serializers.ListField(
        child=serializers.ChoiceField(choices=EVENT_TYPES), allow_empty=False, max_length=50
    )
    url = serializers.URLField(max_length=500)

    class Meta:
        model = Endpoint
        fields = [
            "id",
            "url",
            "events",
            "description",
            "owner",
            "created_at",
            "previous_secret_until",
            "failing_since",
            "disabled_at",
            "disabled_reason",
        ]
        read_only_fields = [
            "id",
            "owner",
            "created_at",
            "previous_secret_until",
            "failing_since",
            "disabled_at",
            "disabled_reason",
        ]


class NewEndpointSerializer(EndpointSerializer):
    """A subscription as first answered, with its signing secret."""

    class Meta(EndpointSerializer.Meta):
        fields = [*EndpointSerializer.Meta.fields, "secret"]
        read_only_fields = [*EndpointSerializer.Meta.read_only_fields, "secret"]


class DeliverySerializer(serializers.ModelSerializer):
    """One line of an endpoint's delivery log."""

    event = serializers.CharField(source="event.message_id")
    type = serializers.CharField(source="event.type")

    class Meta:
        model = Delivery
        fields = [
            "id",
            "event",
            "type",
            "status",
            "attempts",
            "last_status_code",
            "last_error",
            "last_attempt_at",
            "next_attempt_at",
            "delivered_at",
            "created_at",
        ]


class RotationSerializer(serializers.Serializer):
    overlap_hours = serializers.IntegerField(min_value=0, max_value=168, default=24)


class ReplaySerializer(serializers.Serializer):
    event = serializers.RegexField(r"^msg_[0-9a-f]{1,36}$", required=False)
    since = serializers.DateTimeField(required=False)

    def validate(self, attrs):
        if ("event" in attrs) == ("since" in attrs):
            raise serializers.ValidationError(
                {"since": [gettext("Give either an event id or a time to replay from.")]}
            )
        return attrs


class EndpointViewSet(
    KnownParameters,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.DestroyModelMixin,
    viewsets.GenericViewSet,
):
    """Webhook endpoints: marketers and admins subscribe, rotate, replay and read the log."""

    serializer_class = EndpointSerializer
    queryset = Endpoint.objects.select_related("owner")
    keyset_default_ordering = "-id"

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)
        # Events tell of every owner's customers, so only those who see everyone subscribe.
        if not queries.sees_everyone(request.user):
            raise exceptions.PermissionDenied(gettext("Only marketers and admins manage webhooks."))

    @extend_schema(request=EndpointSerializer, responses={201: NewEndpointSerializer})
    def create(self, request, *args, **kwargs):
        """Subscribe a URL to event types; the answer carries the secret, this once."""
        body = self.get_serializer(data=request.data)
        body.is_valid(raise_exception=True)
        endpoint = subscriptions.subscribe(owner=request.user, **body.validated_data)
        return Response(NewEndpointSerializer(endpoint).data, status=status.HTTP_201_CREATED)

    def perform_destroy(self, instance):
        subscriptions.remove(endpoint=instance)

    @extend_schema(request=RotationSerializer, responses={200: NewEndpointSerializer})
    @action(detail=True, methods=["post"], serializer_class=RotationSerializer)
    def rotate(self, request, pk=None):
        """A new secret (answered once); the old one also signs for `overlap_hours`."""
        endpoint = self.get_object()
        body = self.get_serializer(data=request.data)
        body.is_valid(raise_exception=True)
        hours = body.validated_data["overlap_hours"]
        subscriptions.rotate_secret(endpoint=endpoint, overlap=timedelta(hours=hours))
        return Response(NewEndpointSerializer(endpoint).data)

    @extend_schema(request=None, responses={200: EndpointSerializer})
    @action(detail=True, methods=["post"])
    def enable(self, request, pk=None):
        """Deliver again to a disabled endpoint; what waited goes out in order."""
        endpoint = subscriptions.enable(endpoint=self.get_object())
        return Response(EndpointSerializer(endpoint).data)

    @extend_schema(
        request=ReplaySerializer,
        responses={202: inline_serializer("Replayed", {"replayed": serializers.IntegerField()})},
    )
    @action(detail=True, methods=["post"], serializer_class=ReplaySerializer)
    def replay(self, request, pk=None):
        """Send one event (`event`: its msg_ id) or every event `since` a time again."""
        endpoint = self.get_object()
        body = self.get_serializer(data=request.data)
        body.is_valid(raise_exception=True)
        replayed = subscriptions.replay(
            endpoint=endpoint,
            message_id=body.validated_data.get("event"),
            since=body.validated_data.get("since"),
        )
        return Response({"replayed": replayed}, status=status.HTTP_202_ACCEPTED)

    @extend_schema(responses={200: DeliverySerializer(many=True)})
    @action(detail=True, methods=["get"], serializer_class=DeliverySerializer)
    def deliveries(self, request, pk=None):
        """The endpoint's delivery log, newest first."""
        endpoint = self.get_object()
        log = Delivery.objects.filter(endpoint=endpoint).select_related("event")
        page = self.paginate_queryset(log)
        return self.get_paginated_response(DeliverySerializer(page, many=True).data)


def register(router) -> None:
    router.register("webhooks", EndpointViewSet, basename="webhook")
