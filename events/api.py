"""REST API for events: list and create, one event, its attendees, inviting customers and
recording who came. Thin over events.services; customers scoped by ownership."""

from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.db.models import Q
from django.utils.translation import gettext
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import exceptions, mixins, serializers, viewsets
from rest_framework.decorators import action
from rest_framework.generics import get_object_or_404  # a malformed id is a 404, not a 500
from rest_framework.response import Response

from customers import queries as customer_queries
from customers.known_parameters import KnownParameters
from customers.models import Segment, Tier, Topic
from customers.sayings import translated
from customers.selection import BIGINT_MAX, customer_ids
from events import invite_runs, queries, services
from events.models import Event, Invitation, InviteRun

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


class InvitationsRequest(serializers.Serializer):
    """Whom to invite: listed customers (invited at once), or a saved segment or a topic's
    customers (invited in batches in the background, answered 202 with the run)."""

    customers = serializers.ListField(
        child=serializers.IntegerField(min_value=1, max_value=BIGINT_MAX),
        allow_empty=False,
        max_length=MAX_CUSTOMERS,
        required=False,
    )
    segment = serializers.IntegerField(min_value=1, max_value=BIGINT_MAX, required=False)
    topic = serializers.CharField(max_length=80, required=False, help_text="Id or name.")

    def validate(self, attrs):
        if len(attrs) != 1:
            raise serializers.ValidationError(gettext("Give one of customers, segment or topic."))
        return attrs


class InviteRunSerializer(serializers.ModelSerializer):
    """An invitation run: whom, and how far it has got."""

    class Meta:
        model = InviteRun
        fields = [
            "id",
            "described",
            "segment",
            "topic",
            "status",
            "total",
            "done",
            "invited",
            "skipped",
            "problem",
            "created_at",
            "finished_at",
        ]


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
        _marketers_only(request, gettext("Only marketers and admins create events."))
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
        request=InvitationsRequest,
        responses={
            200: inline_serializer(
                "EventInvited", {"invited": serializers.IntegerField(), **RESULT}
            ),
            202: InviteRunSerializer,
        },
    )
    @action(detail=True, methods=["post"], serializer_class=InvitationsRequest)
    def invitations(self, request, pk=None):
        """Invite customers (ids): `{"invited": n, "skipped": [{customer, reason}]}`; or a
        saved segment or a topic's customers: 202 with the run, carried out in batches."""
        _marketers_only(request, gettext("Only marketers and admins invite."))
        event = self.get_object()
        body = InvitationsRequest(data=request.data)
        body.is_valid(raise_exception=True)
        chosen = body.validated_data
        try:
            if "customers" in chosen:
                found, missing = _customers(request, chosen["customers"])
                outcome = services.invite(event=event, customers=found, by=request.user)
            else:
                run = invite_runs.start(
                    event=event,
                    by=request.user,
                    segment=_segment(request, chosen.get("segment")),
                    topic=_topic(chosen.get("topic")),
                )
                return Response(InviteRunSerializer(run).data, status=202)
        except ValidationError as error:
            raise serializers.ValidationError(error.message_dict) from error
        skipped = [
            {"customer": row["customer"], "reason": translated(row["reason"])}
            for row in outcome.skipped + missing
        ]
        return Response({"invited": len(outcome.invited), "skipped": skipped})

    @extend_schema(responses=InviteRunSerializer(many=True))
    @action(
        detail=True,
        methods=["get"],
        url_path="invitation-runs",
        serializer_class=InviteRunSerializer,
        pagination_class=None,
    )
    def invitation_runs(self, request, pk=None):
        """The event's latest invitation runs (newest first) and how far each has got."""
        _marketers_only(request, gettext("Only marketers and admins see invitation runs."))
        event = self.get_object()
        return Response(InviteRunSerializer(queries.invite_runs(event), many=True).data)

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
        body = CustomersRequest(data=request.data)
        body.is_valid(raise_exception=True)
        found, missing = _customers(request, body.validated_data["customers"])
        if event.status == Event.Status.CANCELLED:
            raise serializers.ValidationError({"event": [gettext("This event was cancelled.")]})
        checked = services.record_attendance(event=event, customers=found, by=request.user)
        return Response({"recorded": len(checked), "skipped": missing})


def _marketers_only(request, refusal: str) -> None:
    if not customer_queries.sees_everyone(request.user):
        raise exceptions.PermissionDenied(refusal)


def _segment(request, pk: int | None) -> Segment | None:
    if pk is None:
        return None
    segment = customer_queries.segments_for(request.user).filter(pk=pk).first()
    if segment is None:
        raise serializers.ValidationError({"segment": [gettext("No such segment of yours.")]})
    return segment


def _topic(name: str | None) -> Topic | None:
    if name is None:
        return None
    named = Q(name__iexact=name.strip())
    if name.strip().isdigit():
        named |= Q(pk=int(name))
    topic = Topic.objects.filter(named).first()
    if topic is None:
        raise serializers.ValidationError({"topic": [gettext("No such topic.")]})
    return topic


def _customers(request, ids: list[int]) -> tuple[list, list[dict]]:
    """These customers the caller sees, and the ids of the others as skipped (as if they did
    not exist: ids tell nothing about other owners)."""
    wanted = list(dict.fromkeys(ids))
    found = list(customer_queries.visible_customers(request.user).filter(pk__in=wanted))
    seen = {c.pk for c in found}
    return found, [
        {"customer": pk, "reason": gettext("no such customer")} for pk in wanted if pk not in seen
    ]


def register(router) -> None:
    """Put this app's endpoints on the API router."""
    router.register("events", EventViewSet, basename="event")
