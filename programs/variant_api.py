"""The API of a step's A/B test: each variant's figures, and promoting the winner.

Thin over variant_figures (reads) and variant_store (the promotion and its rule, shared with the
step's page); marketers and admins only, as on the page.
"""

from django.core.exceptions import ValidationError
from django.shortcuts import get_object_or_404
from django.utils.translation import gettext, gettext_lazy
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import exceptions, serializers, status
from rest_framework.decorators import action
from rest_framework.response import Response

from customers import queries
from programs import variant_figures, variant_store
from programs.models import Step, StepVariant


class Conflict(exceptions.APIException):
    status_code = status.HTTP_409_CONFLICT
    default_detail = gettext_lazy("The test is over: a variant was promoted already.")


STEP_ID = OpenApiParameter("step_id", int, OpenApiParameter.PATH, description="The step's id.")


class VariantFiguresSerializer(serializers.Serializer):
    """One variant: its content, sends, responses, rate and difference from the first."""

    id = serializers.IntegerField()
    position = serializers.IntegerField()
    label = serializers.CharField()
    weight = serializers.IntegerField()
    state = serializers.ChoiceField(choices=["running", "stopped", "promoted"])
    email_subject = serializers.CharField()
    email_body = serializers.CharField()
    sms_body = serializers.CharField()
    sends = serializers.IntegerField()
    responses = serializers.IntegerField()
    rate = serializers.FloatField(allow_null=True)
    ci_low = serializers.FloatField(allow_null=True, help_text="95 % Wilson interval of the rate.")
    ci_high = serializers.FloatField(allow_null=True)
    difference = serializers.FloatField(
        allow_null=True, help_text="Rate minus the first variant's; null for the first."
    )
    difference_low = serializers.FloatField(
        allow_null=True, help_text="95 % Newcombe interval of the difference."
    )
    difference_high = serializers.FloatField(allow_null=True)


class StepContentSerializer(serializers.Serializer):
    email_subject = serializers.CharField()
    email_body = serializers.CharField()
    sms_body = serializers.CharField()


class VariantTestSerializer(serializers.Serializer):
    """A step's A/B test: its state, the winner if any, and each variant's figures."""

    program = serializers.IntegerField()
    step = serializers.IntegerField()
    running = serializers.BooleanField(help_text="Sends still split between variants.")
    collecting = serializers.BooleanField(
        help_text="Some variant has fewer than minimum_sends sends: no winner is named yet."
    )
    minimum_sends = serializers.IntegerField()
    response_window_days = serializers.IntegerField()
    winner = serializers.IntegerField(allow_null=True, help_text="The named winner's id.")
    promoted = serializers.IntegerField(allow_null=True, help_text="The promoted variant's id.")
    content = StepContentSerializer(help_text="What the step sends (the winner's, once promoted).")
    variants = VariantFiguresSerializer(many=True)


class PromoteRequest(serializers.Serializer):
    variant = serializers.IntegerField(help_text="The id of a running variant of the step.")
    force = serializers.BooleanField(
        default=False, help_text="Promote a variant that is not the named winner."
    )


def _state(variant: StepVariant) -> str:
    if variant.promoted_at:
        return "promoted"
    return "stopped" if variant.stopped_at else "running"


def test_json(step: Step, every: list[StepVariant]) -> dict:
    """The step's test as the API answers it (one query: the funnel)."""
    test = variant_figures.variant_test(step, every)
    rows = []
    for row in test.rows:
        versus = row.standing.versus_first
        variant = row.variant
        rows.append(
            {
                "id": variant.pk,
                "position": variant.position,
                "label": variant.label,
                "weight": variant.weight,
                "state": _state(variant),
                "email_subject": variant.email_subject,
                "email_body": variant.email_body,
                "sms_body": variant.sms_body,
                "sends": row.tally.sends,
                "responses": row.tally.responses,
                "rate": row.standing.rate,
                "ci_low": row.standing.low,
                "ci_high": row.standing.high,
                "difference": versus.difference if versus else None,
                "difference_low": versus.low if versus else None,
                "difference_high": versus.high if versus else None,
            }
        )
    running = sum(1 for v in every if v.stopped_at is None)
    return {
        "program": step.program_id,
        "step": step.pk,
        "running": test.promoted is None and running >= 2,
        "collecting": test.collecting,
        "minimum_sends": test.minimum,
        "response_window_days": step.response_window_days,
        "winner": test.winner.pk if test.winner else None,
        "promoted": test.promoted.pk if test.promoted else None,
        "content": {name: getattr(step, name) for name in variant_store.CONTENT_FIELDS},
        "variants": rows,
    }


class StepVariantsActions:
    """Mixed into the programs' viewset: /programs/{id}/steps/{step_id}/variants/[promote/]."""

    def _step(self, request, pk, step_id) -> Step:
        if not queries.sees_everyone(request.user):
            raise exceptions.PermissionDenied(
                gettext("Only marketers and admins see and change A/B tests.")
            )
        return get_object_or_404(Step, pk=step_id, program_id=pk)

    @extend_schema(parameters=[STEP_ID], responses={200: VariantTestSerializer})
    @action(
        detail=True,
        methods=["get"],
        url_path=r"steps/(?P<step_id>\d+)/variants",
        url_name="step-variants",
    )
    def step_variants(self, request, pk=None, step_id=None):
        """A step's A/B test: each variant's sends, responses and response rate with its 95 %
        interval, its difference from the first variant with its interval, the named winner
        (only once every variant has `minimum_sends`) and whether the test still runs."""
        step = self._step(request, pk, step_id)
        unknown = sorted(set(request.query_params) - {"format"})
        if unknown:
            raise serializers.ValidationError(
                {name: ["Unknown parameter; this endpoint takes none."] for name in unknown}
            )
        every = list(step.variants.order_by("position"))
        return Response(VariantTestSerializer(test_json(step, every)).data)

    @extend_schema(
        parameters=[STEP_ID],
        request=PromoteRequest,
        responses={
            200: VariantTestSerializer,
            400: OpenApiResponse(description="No such running variant, or not the winner."),
            409: OpenApiResponse(description="A variant was promoted already."),
        },
    )
    @action(
        detail=True,
        methods=["post"],
        url_path=r"steps/(?P<step_id>\d+)/variants/promote",
        url_name="promote-variant",
    )
    def promote_variant(self, request, pk=None, step_id=None):
        """Make `variant` the step's content; the other variants stop, their history kept.
        Only the named winner, unless `"force": true`; a second promotion is a 409."""
        step = self._step(request, pk, step_id)
        asked = PromoteRequest(data=request.data)
        asked.is_valid(raise_exception=True)
        try:
            variant_store.promote(
                step=step,
                variant_id=asked.validated_data["variant"],
                force=asked.validated_data["force"],
            )
        except variant_store.AlreadyPromoted as error:
            raise Conflict(str(error)) from None
        except ValidationError as error:
            raise serializers.ValidationError({"variant": error.messages}) from None
        step.refresh_from_db()
        every = list(step.variants.order_by("position"))
        return Response(VariantTestSerializer(test_json(step, every)).data)
