"""REST API for programs, enrollments and touches; thin over services, scoped by ownership."""

from django_filters import rest_framework as filters
from drf_spectacular.utils import extend_schema, extend_schema_view, inline_serializer
from rest_framework import mixins, serializers, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from customers import queries as customer_queries
from customers.known_parameters import KnownParameters
from customers.selection import CustomersAction, customer_ids
from programs import lift_figures, lift_tally
from programs.enrollment import enroll
from programs.models import Program, Step, Touch
from programs.variant_api import StepVariantsActions

MAX_ENROLL = 10_000


class StepSerializer(serializers.ModelSerializer):
    """One step of a program."""

    class Meta:
        model = Step
        fields = [
            "id",
            "order",
            "kind",
            "name",
            "anchor",
            "offset_days",
            "channel_mode",
            "channel",
            "fallbacks",
            "premium",
        ]


class ProgramSerializer(serializers.ModelSerializer):
    """A program with its steps."""

    steps = StepSerializer(many=True, read_only=True)
    tiers = serializers.SlugRelatedField(slug_field="slug", many=True, read_only=True)

    class Meta:
        model = Program
        fields = [
            "id",
            "name",
            "description",
            "is_active",
            "is_prototype",
            "tiers",
            "audiences",
            "relationships",
            "reentry",
            "reentry_days",
            "holdout_share",
            "steps",
        ]


class LiftRequest(serializers.Serializer):
    """How many days after each enrollment the lift looks."""

    window = serializers.IntegerField(
        min_value=1,
        max_value=lift_figures.MAX_WINDOW_DAYS,
        default=lift_figures.DEFAULT_WINDOW_DAYS,
    )


class ProgramViewSet(KnownParameters, StepVariantsActions, viewsets.ReadOnlyModelViewSet):
    """Programs, each with its steps; a step's A/B test under steps/{step_id}/variants/."""

    serializer_class = ProgramSerializer

    def get_queryset(self):
        return Program.objects.prefetch_related("steps", "tiers")

    @extend_schema(
        parameters=[LiftRequest],
        responses={200: inline_serializer("Lift", {"program": serializers.IntegerField()})},
    )
    @action(detail=True, methods=["get"])
    def lift(self, request, pk=None):
        """Treated against held out per outcome, over `?window=` days (default 90) after each
        enrollment: `{"program", "window_days", "holdout_share", "treated": {"customers",
        "in_window"}, "control": {...}, "outcomes": [{"metric", "treated", "control",
        "difference", "ci_low", "ci_high", "state"}]}`."""
        asked = LiftRequest(data=request.query_params)
        asked.is_valid(raise_exception=True)
        unknown = sorted(set(request.query_params) - {"window", "format"})
        if unknown:
            raise serializers.ValidationError(
                {name: ["Unknown parameter; this endpoint accepts: window."] for name in unknown}
            )
        program = self.get_object()
        figures, _ = lift_tally.lift_of(program, window_days=asked.validated_data["window"])
        return Response(figures.as_json())


class EnrollmentRequest(serializers.Serializer):
    """Which customers to enroll in which program."""

    program = serializers.PrimaryKeyRelatedField(queryset=Program.objects.all())
    customers = customer_ids(max_length=MAX_ENROLL)


@extend_schema_view(
    post=extend_schema(
        request=EnrollmentRequest,
        responses={
            200: inline_serializer(
                "EnrollmentResult",
                {
                    "enrolled": serializers.IntegerField(),
                    "held_out": serializers.IntegerField(),
                    "skipped": serializers.ListField(child=serializers.DictField()),
                    "touches": serializers.DictField(),
                },
            )
        },
    )
)
class Enrollments(CustomersAction):
    """Enroll customers (ids) in a program: `{"enrolled", "held_out", "skipped": [{customer,
    reason}], "touches": {"scheduled", "skipped": {reason: n}, "held": {reason: n},
    "held_out"}}`; `enrolled` counts the treated, `held_out` the control group."""

    request_serializer = EnrollmentRequest
    target = "program"

    def act(self, request, target, customers):
        outcome = enroll(program=target, customers=customers, by=request.user)
        touches = {
            "scheduled": outcome.scheduled,
            "skipped": dict(outcome.touches_skipped),
            "held": dict(outcome.touches_held),
            "held_out": outcome.touches_held_out,
        }
        return {
            "enrolled": outcome.enrolled,
            "held_out": outcome.held_out,
            "skipped": outcome.skipped,
            "touches": touches,
        }


class TouchSerializer(serializers.ModelSerializer):
    """One scheduled contact of a step with a customer."""

    program = serializers.IntegerField(source="step.program_id", read_only=True)
    step_name = serializers.CharField(source="step.name", read_only=True)
    last_error = serializers.CharField(
        source="said_error",
        read_only=True,
        help_text="Why it failed or was skipped, in the Accept-Language when Bonding wrote it.",
    )

    class Meta:
        model = Touch
        fields = [
            "id",
            "customer",
            "program",
            "step",
            "step_name",
            "occurrence",
            "due_at",
            "channel",
            "status",
            "attempts",
            "last_error",
            "sent_at",
            "message_id",
            "responded_at",
        ]


class TouchFilter(filters.FilterSet):
    customer = filters.NumberFilter(field_name="customer_id")
    status = filters.ChoiceFilter(choices=Touch.Status.choices)

    class Meta:
        model = Touch
        fields = ["customer", "status"]


class TouchViewSet(KnownParameters, mixins.ListModelMixin, viewsets.GenericViewSet):
    """Touches of customers the caller may see; `?customer=` and `?status=`."""

    serializer_class = TouchSerializer
    filterset_class = TouchFilter
    keyset_default_ordering = "-id"

    def get_queryset(self):
        return Touch.objects.filter(
            customer__in=customer_queries.visible_customers(self.request.user)
        ).select_related("step")


def register(router) -> None:
    """Put this app's endpoints on the API router."""
    router.register("programs", ProgramViewSet, basename="program")
    router.register("touches", TouchViewSet, basename="touch")
