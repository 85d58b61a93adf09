"""REST API for events: list and create, one event, its attendees, inviting customers and
recording who came. Thin over events.services; customers scoped by ownership."""

from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import exceptions, mixins, serializers, viewsets
from rest_framework.decorators import action
from rest_framework.generics import get_object_or_404  # a malformed id is a 404, not a 500
from rest_framework.response import Response

from customers import queries as customer_queries
from customers.known_parameters import KnownParameters
from customers.models import Tier
from customers.selection import customer_ids
from events import services
from events.models import Event, Invitation

MAX_CUSTOMERS = 2000


class EventSerializer(serializers.ModelSerializer):
    """An event; times in ISO 8601 with their offset (stored in UTC)."""

    tiers = serializers.SlugRelatedField(
        slug_field="slug", many=True, required=False, queryset=Tier.objects.all()
    )
    host = serializers.SlugRelatedField(
        slug_field="username", required=False, allow_null=True, queryset=User.objects.all()
    )

    class Meta:
        model = Event
        fields = [
            "id",
            "name",
            "description",
            "starts_at",
            "ends_at",
            "timezone",
            "place",
            "online_url",
            "capacity",
            "tiers",
            "audiences",
            "relationships",
            "host",
            "status",
            "created_at",
        ]
        read_only_fields = ["created_at"]

    def create(self, validated_data):
        tiers = validated_data.pop("tiers", [])
        try:
            return services.save_event(event=Event(**validated_data), tiers=tiers)
        except ValidationError as error:
            raise serializers.ValidationError(error.message_dict) from error


class AttendeeSerializer(serializers.ModelSerializer):
    """One customer invited to (or come to) the event."""

    class Meta:
        model = Invitation
        fields = [
            "customer",
            "answer",
            "guests",
            "waitlist_position",
            "attendance",
            "walk_in",
            "invited_at",
            "answered_at",
            "checked_in_at",
        ]


class CustomersRequest(serializers.Serializer):
    customers = customer_ids(max_length=MAX_CUSTOMERS)


RESULT = {"skipped": serializers.ListField(child=serializers.DictField())}


class EventViewSet(
    KnownParameters,
    mixins.ListModelMixin,
    mixins.CreateModelMixin,
    mixins.RetrieveModelMixin,
    viewsets.GenericViewSet,
):
    """Events: everyone with a role reads them; marketers create them and invite."""

    serializer_class = EventSerializer
    keyset_default_ordering = "-id"

    def get_queryset(self):
        return Event.objects.select_related("host").prefetch_related("tiers")

    def create(self, request, *args, **kwargs):
        _marketers_only(request, "create events")
        return super().create(request, *args, **kwargs)

    @action(detail=True, methods=["get"], serializer_class=AttendeeSerializer)
    def attendees(self, request, pk=None):
        """Invitations of the event to the caller's customers, in the order they were made."""
        event = get_object_or_404(Event, pk=pk)
        invitations = Invitation.objects.filter(
            event=event, customer__in=customer_queries.visible_customers(request.user)
        )
        page = self.paginate_queryset(invitations)
        return self.get_paginated_response(AttendeeSerializer(page, many=True).data)

    @extend_schema(
        request=CustomersRequest,
        responses={
            200: inline_serializer(
                "EventInvited", {"invited": serializers.IntegerField(), **RESULT}
            )
        },
    )
    @action(detail=True, methods=["post"], serializer_class=CustomersRequest)
    def invitations(self, request, pk=None):
        """Invite customers (ids): `{"invited": n, "skipped": [{customer, reason}]}`."""
        _marketers_only(request, "invite")
        event = self.get_object()
        found, missing = _customers(request)
        try:
            outcome = services.invite(event=event, customers=found, by=request.user)
        except ValidationError as error:
            raise serializers.ValidationError(error.message_dict) from error
        return Response({"invited": len(outcome.invited), "skipped": outcome.skipped + missing})

    @extend_schema(
        request=CustomersRequest,
        responses={
            200: inline_serializer(
                "EventAttended", {"recorded": serializers.IntegerField(), **RESULT}
            )
        },
    )
    @action(detail=True, methods=["post"], serializer_class=CustomersRequest)
    def attendance(self, request, pk=None):
        """Record that customers (ids) came; those not invited are walk-ins."""
        event = self.get_object()
        found, missing = _customers(request)
        if event.status == Event.Status.CANCELLED:
            raise serializers.ValidationError({"event": ["This event was cancelled."]})
        checked = services.record_attendance(event=event, customers=found, by=request.user)
        return Response({"recorded": len(checked), "skipped": missing})


def _marketers_only(request, what: str) -> None:
    if not customer_queries.sees_everyone(request.user):
        raise exceptions.PermissionDenied(f"Only marketers and admins {what}.")


def _customers(request) -> tuple[list, list[dict]]:
    """The body's customers the caller sees, and the ids of the others as skipped (as if
    they did not exist: ids tell nothing about other owners)."""
    body = CustomersRequest(data=request.data)
    body.is_valid(raise_exception=True)
    wanted = list(dict.fromkeys(body.validated_data["customers"]))
    found = list(customer_queries.visible_customers(request.user).filter(pk__in=wanted))
    seen = {c.pk for c in found}
    return found, [
        {"customer": pk, "reason": "no such customer"} for pk in wanted if pk not in seen
    ]


def register(router) -> None:
    """Put this app's endpoints on the API router."""
    router.register("events", EventViewSet, basename="event")
