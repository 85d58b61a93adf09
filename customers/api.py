"""REST API for customers, their interactions and purchases, and the ladder; thin over services."""

import hashlib
from datetime import UTC

from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext, gettext_lazy
from django_filters import rest_framework as filters
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    extend_schema,
    extend_schema_field,
    inline_serializer,
)
from rest_framework import exceptions, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.generics import get_object_or_404
from rest_framework.response import Response
from rest_framework.settings import api_settings

from customers import api_activity, cursor, queries, records, tasks
from customers import sync as syncing
from customers.filters import DESCENDING_INDEXES, CustomerFilter
from customers.known_parameters import KnownParameters
from customers.models import Account, Channel, Customer, Topic
from customers.rows import storable

MAX_SYNC_ROWS = 1000
# External ids one `?external_id=a,b,c` may name: a page's worth, one indexed lookup.
MAX_EXTERNAL_IDS = 100


@extend_schema_field(
    {
        "type": "object",
        "properties": {channel: {"type": "boolean"} for channel in Channel.values},
        "additionalProperties": False,
    }
)
class ConsentsField(serializers.Field):
    """Consent per channel as {"email": true, "sms": false, ...}."""

    def to_representation(self, customer: Customer) -> dict[str, bool]:
        return customer.consents()

    def to_internal_value(self, data):
        if not isinstance(data, dict):
            raise serializers.ValidationError(
                gettext("Must be an object of channel: true or false.")
            )
        unknown = set(data) - set(Channel.values)
        if unknown:
            raise serializers.ValidationError(
                gettext("Unknown channels: %(channels)s.")
                % {"channels": ", ".join(sorted(unknown))}
            )
        if not all(isinstance(value, bool) for value in data.values()):
            raise serializers.ValidationError(gettext("Each channel must be true or false."))
        return {f"consent_{channel}": granted for channel, granted in data.items()}


class CustomerSerializer(serializers.ModelSerializer):
    """A customer as sync clients see it (see the design's contract)."""

    account = serializers.CharField(
        source="account.name", required=False, allow_blank=True, allow_null=True, max_length=200
    )
    tier = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    owner = serializers.SlugRelatedField(
        slug_field="username",
        queryset=get_user_model().objects.all(),
        required=False,
        allow_null=True,
    )
    consents = ConsentsField(source="*", required=False)
    email = serializers.CharField(required=False, allow_blank=True, max_length=254)
    phone = serializers.CharField(required=False, allow_blank=True, max_length=40)
    churn_reasons = serializers.ListField(child=serializers.CharField(), read_only=True)
    topics = serializers.PrimaryKeyRelatedField(
        many=True, queryset=Topic.objects.all(), required=False
    )

    class Meta:
        model = Customer
        fields = [
            "id",
            "external_id",
            "first_name",
            "last_name",
            "email",
            "phone",
            "account",
            "audience",
            "relationship",
            "partner_kind",
            "tier",
            "bond_stage",
            "owner",
            "preferred_channel",
            "frequency",
            "language",
            "topics",
            "timezone",
            "consents",
            "email_suspended_reason",
            "email_suspended_at",
            "estimated_wallet",
            "postal_address",
            "lifetime_value",
            "predicted_value_12m",
            "share_of_wallet",
            "churn_risk",
            "churn_reasons",
            "nps_latest",
            "created_at",
            "updated_at",
        ]
        read_only_fields = [
            "id",
            "email_suspended_reason",
            "email_suspended_at",
            "tier",
            "bond_stage",
            "lifetime_value",
            "predicted_value_12m",
            "share_of_wallet",
            "churn_risk",
            "churn_reasons",
            "nps_latest",
            "created_at",
            "updated_at",
        ]
        extra_kwargs = {"external_id": {"required": False, "allow_null": True}}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        request = self.context.get("request")
        if request is not None and not queries.sees_everyone(request.user):
            # Account managers choose only themselves, and learn nothing of other usernames.
            owner = self.fields["owner"]
            owner.queryset = get_user_model().objects.filter(pk=request.user.pk)
            owner.error_messages["does_not_exist"] = "You may only assign customers to yourself."

    def to_service_data(self) -> dict:
        """The validated fields in the shape records.create_customer/update_customer take."""
        data = dict(self.validated_data)
        consents = {k: data.pop(k) for k in list(data) if k.startswith("consent_")}
        if "account" in data:
            name = ((data.pop("account") or {}).get("name") or "").strip()
            data["account"] = Account.objects.get_or_create(name=name)[0] if name else None
        if data.get("external_id") == "":
            data["external_id"] = None
        return {**data, **consents}


def customers_page(view, request, customers) -> Response:
    """A cursor page of these customers as the customers API shows them, for a group's
    `customers` action (a segment, a static list); only the page's own parameters are taken."""
    paginator = view.paginator
    accepted = {
        api_settings.URL_FORMAT_OVERRIDE,
        *(p["name"] for p in paginator.get_schema_operation_parameters(view)),
    }
    unknown = sorted(set(request.query_params) - accepted)
    if unknown:
        message = gettext("Unknown parameter; this list accepts: %(names)s.") % {
            "names": ", ".join(sorted(accepted))
        }
        raise exceptions.ValidationError({name: [message] for name in unknown})
    customers = customers.select_related("tier", "owner", "account").prefetch_related("topics")
    page = paginator.paginate_queryset(customers, request, view=view)
    data = CustomerSerializer(page, many=True, context=view.get_serializer_context()).data
    return paginator.get_paginated_response(data)


def as_utc(moment, field: str):
    """An aware moment in UTC; odd offsets PostgreSQL cannot store are refused as bad input."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    try:
        return moment.astimezone(UTC)
    except OverflowError as error:
        raise exceptions.ValidationError(
            {field: [gettext("This date-time is out of range.")]}
        ) from error


def etag_of(customer: Customer) -> str:
    """Changes whenever the customer's row is written (updated_at moves on every write)."""
    stamp = f"{customer.pk}:{customer.updated_at.isoformat()}"
    return '"' + hashlib.sha256(stamp.encode()).hexdigest()[:32] + '"'


class CustomerApiFilter(CustomerFilter):
    """The list's filters plus `updated_since` for incremental sync and `external_id` lookups."""

    updated_since = filters.IsoDateTimeFilter(method="by_updated_since")
    search = filters.CharFilter(method="search", label="Search")
    external_id = filters.CharFilter(
        method="by_external_ids",
        label=f"External ids, comma-separated (at most {MAX_EXTERNAL_IDS})",
    )

    class Meta(CustomerFilter.Meta):
        fields = [*CustomerFilter.Meta.fields, "updated_since", "search", "external_id"]

    @property
    def qs(self):
        # Ordering is the cursor pagination's job here.
        return super(CustomerFilter, self).qs

    def by_updated_since(self, queryset, name, value):
        return queryset.filter(updated_at__gte=as_utc(value, "updated_since"))

    def by_external_ids(self, queryset, name, value):
        wanted = list(dict.fromkeys(part.strip() for part in value.split(",") if part.strip()))
        if len(wanted) > MAX_EXTERNAL_IDS:
            raise exceptions.ValidationError(
                {
                    "external_id": [
                        gettext("At most %(count)s external ids per request.")
                        % {"count": MAX_EXTERNAL_IDS}
                    ]
                }
            )
        # An id PostgreSQL cannot store (a lone surrogate) names no one.
        return queryset.filter(external_id__in=[w for w in wanted if storable(w)])


# The API orders by keyset cursors (customers.cursor): the list page's ordering filter is not
# offered here, so `?ordering=` means exactly what the paginator supports.
CustomerApiFilter.base_filters.pop("ordering")


class CustomerViewSet(KnownParameters, viewsets.ModelViewSet):
    """Customers the caller may see; DELETE is a soft delete; writes honour If-Match."""

    serializer_class = CustomerSerializer
    filterset_class = CustomerApiFilter
    keyset_orderings = {
        "id": cursor.whole,
        "updated_at": cursor.moment,
        "created_at": cursor.moment,
        "churn_risk": cursor.whole,
        "lifetime_value": cursor.amount,
        "predicted_value_12m": cursor.amount,
        "last_name": str,
    }
    # Sorts whose index reads (-field, id), as the list's; the others read (field, id).
    keyset_index_descending = DESCENDING_INDEXES

    def get_queryset(self):
        return (
            queries.visible_customers(self.request.user)
            .select_related("tier", "owner", "account")
            .prefetch_related("topics")
        )

    def keyset_sorts_matches(self, request) -> bool:
        # A search finds its matches through the trigram indexes; sorting them is bounded by
        # their number, walking the sort's index is not (see CustomerFilter._chosen_order).
        return any(request.query_params.get(name, "").strip() for name in ("search", "q"))

    def retrieve(self, request, *args, **kwargs):
        customer = self.get_object()
        response = Response(self.get_serializer(customer).data)
        response["ETag"] = etag_of(customer)
        return response

    @extend_schema(
        parameters=[OpenApiParameter("external_id", OpenApiTypes.STR, OpenApiParameter.PATH)],
        responses={200: CustomerSerializer},
        filters=False,
    )
    @action(
        detail=False,
        methods=["get"],
        url_path="by-external-id/(?P<external_id>[^/]+)",
        url_name="by-external-id",
        filterset_class=None,
        pagination_class=None,
    )
    def by_external_id(self, request, external_id: str):
        """The customer with this external id, if the caller may see them (404 otherwise)."""
        if not storable(external_id):
            raise exceptions.NotFound()
        customer = get_object_or_404(self.get_queryset(), external_id=external_id)
        response = Response(self.get_serializer(customer).data)
        response["ETag"] = etag_of(customer)
        return response

    @transaction.atomic
    def perform_create(self, serializer):
        data = serializer.to_service_data()
        if not queries.sees_everyone(self.request.user):
            data["owner"] = self.request.user
        serializer.instance = records.create_customer(
            data=data, by=self.request.user, consent_source="API"
        )

    def create(self, request, *args, **kwargs):
        response = super().create(request, *args, **kwargs)
        customer = Customer.objects.select_related("tier", "owner", "account").get(
            pk=response.data["id"]
        )
        response.data = self.get_serializer(customer).data
        response["ETag"] = etag_of(customer)
        return response

    def update(self, request, *args, **kwargs):
        partial = kwargs.pop("partial", False)
        with transaction.atomic():
            customer = get_object_or_404(
                self.get_queryset().select_for_update(of=("self",)), pk=kwargs["pk"]
            )
            expected = request.headers.get("If-Match")
            if expected and expected not in ("*", etag_of(customer)):
                raise PreconditionFailed()
            serializer = self.get_serializer(customer, data=request.data, partial=partial)
            serializer.is_valid(raise_exception=True)
            records.update_customer(
                customer=customer,
                data=serializer.to_service_data(),
                by=request.user,
                consent_source="API",
            )
        customer = self.get_queryset().get(pk=customer.pk)
        response = Response(self.get_serializer(customer).data)
        response["ETag"] = etag_of(customer)
        return response

    def destroy(self, request, *args, **kwargs):
        customer = self.get_object()
        # As on the pages: account managers see their own, only marketers and admins delete.
        if not queries.sees_everyone(request.user):
            raise exceptions.PermissionDenied(
                gettext("Only marketers and admins delete customers.")
            )
        expected = request.headers.get("If-Match")
        if expected and expected not in ("*", etag_of(customer)):
            raise PreconditionFailed()
        records.delete_customer(customer=customer, by=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(
        request=inline_serializer(
            "SyncRequest",
            {"customers": serializers.ListField(child=serializers.DictField(), max_length=1000)},
        ),
        responses={
            200: inline_serializer(
                "SyncResult",
                {
                    "created": serializers.IntegerField(),
                    "updated": serializers.IntegerField(),
                    "unchanged": serializers.IntegerField(),
                    "purchases_created": serializers.IntegerField(),
                    "errors": serializers.ListField(child=serializers.DictField()),
                },
            )
        },
    )
    @action(detail=False, methods=["post"])
    def sync(self, request):
        """Upsert up to 1,000 customers by external_id; bad rows come back by index. A new
        customer may name the `referral_code` they came with: the referral becomes theirs."""
        rows = request.data.get("customers") if isinstance(request.data, dict) else None
        if not isinstance(rows, list):
            raise exceptions.ValidationError(
                {"customers": [gettext("A list of customers is required.")]}
            )
        if len(rows) > MAX_SYNC_ROWS:
            raise exceptions.ValidationError(
                {
                    "customers": [
                        gettext("At most %(count)s customers per request.")
                        % {"count": MAX_SYNC_ROWS}
                    ]
                }
            )
        outcome = syncing.upsert_customers(
            rows=rows, by=request.user, refresh_later=tasks.refresh_customers_task.delay
        )
        return Response(
            {
                "created": outcome.created,
                "updated": outcome.updated,
                "unchanged": outcome.unchanged,
                "purchases_created": outcome.purchases_created,
                "errors": outcome.errors,
            }
        )

    @extend_schema(
        parameters=[OpenApiParameter("since", OpenApiTypes.DATETIME, required=False)],
        responses={
            200: inline_serializer(
                "Tombstone",
                {
                    "id": serializers.IntegerField(),
                    "external_id": serializers.CharField(allow_null=True),
                    "deleted_at": serializers.DateTimeField(),
                    "merged_into": serializers.IntegerField(allow_null=True),
                },
                many=True,
            )
        },
        filters=False,
    )
    @action(
        detail=False,
        methods=["get"],
        filterset_class=None,
        keyset_orderings={"id": cursor.whole},
        query_parameters=("since",),
    )
    def deleted(self, request):
        """Tombstones of deleted customers (and of merged ones, naming the survivor)."""
        since = request.query_params.get("since")
        tombstones = queries.deleted_customers(request.user)
        if since:
            try:
                moment = parse_datetime(since)
            except ValueError:
                moment = None
            if moment is None:
                raise exceptions.ValidationError(
                    {"since": [gettext("An ISO 8601 date-time is required.")]}
                )
            tombstones = tombstones.filter(deleted_at__gte=as_utc(moment, "since"))
        page = self.paginate_queryset(
            tombstones.only("id", "external_id", "deleted_at", "merged_into_id")
        )
        return self.get_paginated_response(
            [
                {
                    "id": c.pk,
                    "external_id": c.external_id,
                    "deleted_at": c.deleted_at,
                    "merged_into": c.merged_into_id,
                }
                for c in page
            ]
        )


class PreconditionFailed(exceptions.APIException):
    status_code = status.HTTP_412_PRECONDITION_FAILED
    default_detail = gettext_lazy(
        "The customer changed since you read it: fetch it again (If-Match)."
    )
    default_code = "precondition_failed"


def register(router) -> None:
    """Put this app's endpoints on the API router."""
    router.register("customers", CustomerViewSet, basename="customer")
    api_activity.register(router)
