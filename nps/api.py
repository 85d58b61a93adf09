"""REST API for NPS: surveys, inviting customers, the answers and the score; scoped by
ownership, thin over services and queries."""

from datetime import UTC

from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext
from django_filters import rest_framework as filters
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    extend_schema,
    extend_schema_serializer,
    extend_schema_view,
    inline_serializer,
)
from rest_framework import exceptions, mixins, serializers, viewsets
from rest_framework.response import Response as ApiResponse

from customers.known_parameters import KnownParameters
from customers.sayings import translated
from customers.selection import CustomersAction, customer_ids
from nps import queries, score, services, theme_figures
from nps.models import Response, Survey
from nps.themes import LANGUAGES

MAX_INVITE = 10_000


class NpsSurveySerializer(serializers.ModelSerializer):
    """A survey: its wording, premium and how long its invitations stay open."""

    class Meta:
        model = Survey
        fields = [
            "id",
            "name",
            "question_score",
            "question_why",
            "question_improve",
            "ask_preferred_channel",
            "premium",
            "is_active",
            "valid_days",
            "created_at",
        ]


class SurveyViewSet(
    KnownParameters, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet
):
    """The surveys customers can be invited to."""

    serializer_class = NpsSurveySerializer
    queryset = Survey.objects.all()


class NpsInvitationSerializer(serializers.Serializer):
    """Whom to invite to which survey."""

    survey = serializers.PrimaryKeyRelatedField(queryset=Survey.objects.all())
    customers = customer_ids(max_length=MAX_INVITE)


@extend_schema_view(
    post=extend_schema(
        request=NpsInvitationSerializer,
        responses={
            200: inline_serializer(
                "NpsInvitationResult",
                {
                    "invited": serializers.IntegerField(),
                    "skipped": serializers.ListField(child=serializers.DictField()),
                },
            )
        },
    )
)
class Invitations(CustomersAction):
    """Invite customers (ids) to a survey: `{"invited", "skipped": [{customer, reason}]}`."""

    request_serializer = NpsInvitationSerializer
    target = "survey"

    def act(self, request, target, customers):
        outcome = services.invite(survey=target, customers=customers, by_email=True)
        services.queue_emails(outcome.invited)
        # The reasons in the caller's language (Accept-Language), English by default.
        skipped = [{**skip, "reason": translated(skip["reason"])} for skip in outcome.skipped]
        return {"invited": len(outcome.invited), "skipped": skipped}


class NpsResponseSerializer(serializers.ModelSerializer):
    """A customer's answer, with the tier, audience and program it was given in."""

    tier = serializers.CharField(source="tier_slug", read_only=True)
    program = serializers.IntegerField(source="program_id", read_only=True, allow_null=True)

    class Meta:
        model = Response
        fields = [
            "id",
            "survey",
            "customer",
            "score",
            "category",
            "why",
            "improve",
            "preferred_channel",
            "tier",
            "audience",
            "program",
            "answered_at",
            "updated_at",
        ]


class ResponseFilter(filters.FilterSet):
    since = filters.IsoDateTimeFilter(method="answered_since", label="Answered at or after")
    customer = filters.NumberFilter(field_name="customer_id")

    class Meta:
        model = Response
        fields = ["since", "customer"]

    def answered_since(self, queryset, name, value):
        # In UTC: PostgreSQL refuses offsets Python accepts (e.g. -19:18).
        try:
            moment = value.astimezone(UTC)
        except OverflowError as error:
            raise exceptions.ValidationError(
                {"since": [gettext("This date-time is out of range.")]}
            ) from error
        return queryset.filter(answered_at__gte=moment)


class ResponseViewSet(KnownParameters, mixins.ListModelMixin, viewsets.GenericViewSet):
    """Answers of customers the caller may see; `?since=` (answered at or after), `?customer=`."""

    serializer_class = NpsResponseSerializer
    filterset_class = ResponseFilter
    keyset_orderings = {"id": int, "answered_at": parse_datetime}

    def get_queryset(self):
        return queries.responses_for(self.request.user)


class NpsGroupSerializer(serializers.Serializer):
    """One group's NPS: its key and name, the counts, and whether it has enough answers."""

    key = serializers.CharField(allow_null=True)
    label = serializers.CharField()
    nps = serializers.FloatField(allow_null=True)
    responses = serializers.IntegerField()
    promoters = serializers.IntegerField()
    passives = serializers.IntegerField()
    detractors = serializers.IntegerField()
    margin_of_error = serializers.FloatField(allow_null=True)
    trustworthy = serializers.BooleanField()


@extend_schema_serializer(many=False)
class NpsSummarySerializer(serializers.Serializer):
    """The NPS with its counts and margin of error, and its groups when asked for."""

    nps = serializers.FloatField(allow_null=True)
    responses = serializers.IntegerField()
    promoters = serializers.IntegerField()
    passives = serializers.IntegerField()
    detractors = serializers.IntegerField()
    margin_of_error = serializers.FloatField(allow_null=True)
    groups = NpsGroupSerializer(many=True)


def _figures(summary: score.Summary) -> dict:
    def rounded(value: float | None) -> float | None:
        return None if value is None else round(value, 1)

    return {
        "nps": rounded(summary.nps),
        "responses": summary.responses,
        "promoters": summary.promoters,
        "passives": summary.passives,
        "detractors": summary.detractors,
        "margin_of_error": rounded(summary.margin_of_error),
    }


class SummaryViewSet(KnownParameters, viewsets.ViewSet):
    """The NPS of the answers the caller may see, with its margin of error, optionally per
    month, tier, audience, program or owner (groups under 30 answers are not trustworthy)."""

    query_parameters = ("group_by",)

    @extend_schema(
        parameters=[
            OpenApiParameter(
                "group_by", OpenApiTypes.STR, enum=list(queries.GROUPINGS), required=False
            )
        ],
        responses={200: NpsSummarySerializer},
    )
    def list(self, request):
        group_by = request.query_params.get("group_by") or None
        if group_by is not None and group_by not in queries.GROUPINGS:
            raise exceptions.ValidationError(
                {
                    "group_by": [
                        gettext("Choose one of: %(groupings)s.")
                        % {"groupings": ", ".join(queries.GROUPINGS)}
                    ]
                }
            )
        responses = queries.responses_for(request.user)
        groups = []
        if group_by:
            groups = [
                {
                    "key": None if group.key in (None, "") else str(group.key),
                    "label": group.label,
                    **_figures(group.summary),
                    "trustworthy": group.summary.is_trustworthy,
                }
                for group in queries.grouped(responses_qs=responses, by=group_by)
            ]
        body = {**_figures(queries.summary(responses_qs=responses)), "groups": groups}
        return ApiResponse(NpsSummarySerializer(body).data)


class NpsThemeMonthSerializer(serializers.Serializer):
    """One month of a theme: the answers that mention it then, and their NPS."""

    month = serializers.CharField()
    nps = serializers.FloatField(allow_null=True)
    responses = serializers.IntegerField()
    promoters = serializers.IntegerField()
    passives = serializers.IntegerField()
    detractors = serializers.IntegerField()
    margin_of_error = serializers.FloatField(allow_null=True)


class NpsThemeExampleSerializer(serializers.ModelSerializer):
    """An answer that says what the theme is about."""

    class Meta:
        model = Response
        fields = ["id", "customer", "score", "category", "why", "improve", "answered_at"]


class NpsThemeSerializer(serializers.Serializer):
    """A theme in what customers say, with the NPS of those who mention it."""

    id = serializers.IntegerField()
    name = serializers.CharField()
    language = serializers.CharField()
    terms = serializers.ListField(child=serializers.CharField())
    renamed_by_user = serializers.BooleanField()
    nps = serializers.FloatField(allow_null=True)
    responses = serializers.IntegerField()
    promoters = serializers.IntegerField()
    passives = serializers.IntegerField()
    detractors = serializers.IntegerField()
    margin_of_error = serializers.FloatField(allow_null=True)
    trustworthy = serializers.BooleanField()
    detractor_share = serializers.FloatField(allow_null=True)
    promoter_share = serializers.FloatField(allow_null=True)
    months = NpsThemeMonthSerializer(many=True)
    examples = NpsThemeExampleSerializer(many=True)


@extend_schema_serializer(many=False)
class NpsThemeListSerializer(serializers.Serializer):
    """Every current theme, most mentioned first, in one page."""

    next = serializers.CharField(allow_null=True)
    previous = serializers.CharField(allow_null=True)
    results = NpsThemeSerializer(many=True)


THEME_PARAMETERS = ("survey", "language")


def _ratio(value: float | None) -> float | None:
    return None if value is None else round(value, 3)


class ThemeViewSet(viewsets.ViewSet):
    """Themes found in what customers say (over every survey, or `?survey=`; `?language=`),
    most mentioned first, each with the NPS of the customers who mention it, the month-by-month
    trend and two example answers; an account manager's are counted over their customers."""

    @extend_schema(
        parameters=[
            OpenApiParameter("survey", OpenApiTypes.INT, required=False),
            OpenApiParameter("language", OpenApiTypes.STR, enum=list(LANGUAGES), required=False),
        ],
        responses={200: NpsThemeListSerializer},
    )
    def list(self, request):
        unknown = sorted(set(request.query_params) - set(THEME_PARAMETERS))
        if unknown:
            raise exceptions.ValidationError(
                {name: [f"Unknown; accepted: {', '.join(THEME_PARAMETERS)}."] for name in unknown}
            )
        survey = request.query_params.get("survey") or None
        if survey is not None and not (survey.isascii() and survey.isdigit()):
            raise exceptions.ValidationError(
                {"survey": [gettext("A survey id is a whole number.")]}
            )
        language = request.query_params.get("language") or None
        if language is not None and language not in LANGUAGES:
            raise exceptions.ValidationError(
                {
                    "language": [
                        gettext("One of: %(languages)s.") % {"languages": ", ".join(LANGUAGES)}
                    ]
                }
            )
        rows = theme_figures.theme_rows(
            responses_qs=queries.responses_for(request.user),
            survey_id=None if survey is None else int(survey),
            language=language,
        )
        results = [
            {
                "id": row.theme.pk,
                "name": row.theme.name,
                "language": row.theme.language,
                "terms": row.theme.terms,
                "renamed_by_user": row.theme.renamed_by_user,
                **_figures(row.summary),
                "trustworthy": row.summary.is_trustworthy,
                "detractor_share": _ratio(row.detractor_share),
                "promoter_share": _ratio(row.promoter_share),
                "months": [{"month": m.key, **_figures(m.summary)} for m in row.months],
                "examples": row.examples,
            }
            for row in rows
        ]
        body = {"next": None, "previous": None, "results": results}
        return ApiResponse(NpsThemeListSerializer(body).data)


def register(router) -> None:
    """Put this app's endpoints on the API router."""
    router.register("nps/surveys", SurveyViewSet, basename="nps-survey")
    router.register("nps/responses", ResponseViewSet, basename="nps-response")
    router.register("nps/summary", SummaryViewSet, basename="nps-summary")
    router.register("nps/themes", ThemeViewSet, basename="nps-theme")
