"""Interactions, purchases and the ladder's tiers in the API: logged, added in batches by
customer id or external id, and read, over the customers the caller may see."""

from django.utils.translation import gettext
from django_filters import rest_framework as filters
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import exceptions, mixins, serializers, viewsets
from rest_framework.response import Response

from customers import activity, queries, shapes, tasks
from customers import sync as syncing
from customers.known_parameters import KnownParameters
from customers.models import Customer, Interaction, Purchase, Tier
from customers.rows import clean_purchase, storable

# A batch of purchases: as many rows as a customers/sync/ batch.
MAX_PURCHASE_ROWS = 1000


class InteractionSerializer(serializers.ModelSerializer):
    """An interaction logged on a customer."""

    customer = serializers.PrimaryKeyRelatedField(queryset=Customer.objects.none())
    author = serializers.SlugRelatedField(slug_field="username", read_only=True, allow_null=True)

    class Meta:
        model = Interaction
        fields = list(shapes.INTERACTION_FIELDS)
        read_only_fields = ["id", "author", "created_at"]
        extra_kwargs = {"occurred_at": {"required": False}}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        request = self.context.get("request")
        if request is not None:
            self.fields["customer"].queryset = queries.visible_customers(request.user)

    def to_representation(self, instance):
        data = super().to_representation(instance)
        # A summary the code wrote (a reply's) reads in the caller's language.
        data["summary"] = instance.shown_summary
        return data


class InteractionFilter(filters.FilterSet):
    customer = filters.NumberFilter(field_name="customer_id")

    class Meta:
        model = Interaction
        fields = ["customer"]


class InteractionViewSet(
    KnownParameters,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    viewsets.GenericViewSet,
):
    """Interactions on customers the caller may see; POST logs one."""

    serializer_class = InteractionSerializer
    filterset_class = InteractionFilter
    keyset_default_ordering = "-id"

    def get_queryset(self):
        return Interaction.objects.filter(
            customer__in=queries.visible_customers(self.request.user)
        ).select_related("author")

    def perform_create(self, serializer):
        data = dict(serializer.validated_data)
        customer = data.pop("customer")
        serializer.instance = activity.log_interaction(
            customer=customer, author=self.request.user, **data
        )


class TierSerializer(serializers.ModelSerializer):
    """A rung of the ladder."""

    class Meta:
        model = Tier
        fields = ["id", "rank", "name", "slug", "description", "colour"]


class TierViewSet(KnownParameters, viewsets.ReadOnlyModelViewSet):
    """The ladder's rungs, bottom first."""

    serializer_class = TierSerializer
    queryset = Tier.objects.all()
    pagination_class = None
    lookup_field = "slug"


class PurchaseSerializer(serializers.ModelSerializer):
    """A purchase of a customer."""

    class Meta:
        model = Purchase
        fields = list(shapes.PURCHASE_FIELDS)


class PurchaseFilter(filters.FilterSet):
    customer = filters.NumberFilter(field_name="customer_id")

    class Meta:
        model = Purchase
        fields = ["customer"]


class PurchaseViewSet(KnownParameters, mixins.ListModelMixin, viewsets.GenericViewSet):
    """Purchases of customers the caller may see; POST adds many at once by external_id."""

    serializer_class = PurchaseSerializer
    filterset_class = PurchaseFilter
    keyset_default_ordering = "-id"

    def get_queryset(self):
        return Purchase.objects.filter(customer__in=queries.visible_customers(self.request.user))

    @extend_schema(
        request=inline_serializer(
            "PurchaseBatch",
            {"purchases": serializers.ListField(child=serializers.DictField(), max_length=1000)},
        ),
        responses={
            200: inline_serializer(
                "PurchaseBatchResult",
                {
                    "created": serializers.IntegerField(),
                    "unchanged": serializers.IntegerField(),
                    "errors": serializers.ListField(child=serializers.DictField()),
                },
            )
        },
    )
    def create(self, request):
        """Add up to 1,000 purchases; each names its customer by `customer` (id) or
        `customer_external_id`; a purchase whose external_id is known is left as it is."""
        rows = request.data.get("purchases") if isinstance(request.data, dict) else None
        if not isinstance(rows, list):
            raise exceptions.ValidationError(
                {"purchases": [gettext("A list of purchases is required.")]}
            )
        if len(rows) > MAX_PURCHASE_ROWS:
            raise exceptions.ValidationError(
                {
                    "purchases": [
                        gettext("At most %(count)s purchases per request.")
                        % {"count": MAX_PURCHASE_ROWS}
                    ]
                }
            )
        visible = queries.visible_customers(request.user)
        ids = {
            r["customer"]
            for r in rows
            if isinstance(r, dict)
            and isinstance(r.get("customer"), int)
            and not isinstance(r.get("customer"), bool)
        }
        external_ids = {
            str(r.get("customer_external_id"))
            for r in rows
            if isinstance(r, dict)
            and r.get("customer_external_id")
            and storable(str(r.get("customer_external_id")))
        }
        by_id = set(
            visible.filter(pk__in=[i for i in ids if isinstance(i, int)]).values_list(
                "pk", flat=True
            )
        )
        by_external = dict(
            visible.filter(external_id__in=external_ids).values_list("external_id", "pk")
        )
        grouped: dict[int, list] = {}
        errors = []
        for index, raw in enumerate(rows):
            cleaned, row_errors = clean_purchase(raw)
            customer_id = None
            if isinstance(raw, dict):
                given = raw.get("customer")
                if isinstance(given, int) and given in by_id:
                    customer_id = raw["customer"]
                elif raw.get("customer_external_id") is not None:
                    customer_id = by_external.get(str(raw["customer_external_id"]))
            if customer_id is None:
                row_errors.setdefault("customer", []).append("No such customer of yours.")
            if row_errors:
                external_id = raw.get("external_id") if isinstance(raw, dict) else None
                errors.append({"index": index, "external_id": external_id, "errors": row_errors})
                continue
            grouped.setdefault(customer_id, []).append(cleaned)
        created = syncing.add_purchases(
            by_customer=grouped, refresh_later=tasks.refresh_customers_task.delay
        )
        landed = sum(len(p) for p in grouped.values())
        return Response({"created": created, "unchanged": landed - created, "errors": errors})


def register(router) -> None:
    """Put these endpoints on the API router."""
    router.register("interactions", InteractionViewSet, basename="interaction")
    router.register("tiers", TierViewSet, basename="tier")
    router.register("purchases", PurchaseViewSet, basename="purchase")
