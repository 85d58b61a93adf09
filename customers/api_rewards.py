"""REST API of the reward ledger: a customer's lines and balance, and granting or redeeming
with an idempotency key (the same key twice answers the first result and changes nothing).
Scoped like customers: a customer the caller may not see is a 404."""

from decimal import Decimal

from django.utils.translation import gettext
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import exceptions, mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.generics import get_object_or_404
from rest_framework.response import Response

from customers import queries, rewards, shapes
from customers.api_records import RecordSerializer, VisibleCustomerField
from customers.known_parameters import KnownParameters
from customers.models import Customer, Reward

IDEMPOTENCY_HEADER = "Idempotency-Key"


class RewardEntrySerializer(serializers.ModelSerializer):
    """One line of the ledger as the API shows it."""

    author = serializers.SlugRelatedField(slug_field="username", read_only=True)
    # In the request's language (Accept-Language); webhooks carry the English as stored.
    reason = serializers.CharField(source="shown_reason", read_only=True)

    class Meta:
        model = Reward
        fields = list(shapes.REWARD_FIELDS)
        read_only_fields = fields


class RewardRequestSerializer(RecordSerializer):
    """Grant (any cause; an account manager's is goodwill within the limit) or redeem."""

    action = serializers.ChoiceField(choices=["grant", "redeem"])
    customer = VisibleCustomerField()
    value = serializers.DecimalField(max_digits=10, decimal_places=2, min_value=Decimal(0))
    idempotency_key = serializers.CharField(max_length=100, required=False)

    class Meta:
        model = Reward
        fields = ["action", "customer", "unit", "value", "cause", "kind", "reason"]
        fields += ["idempotency_key"]
        extra_kwargs = {"cause": {"required": False}, "kind": {"required": False}}

    def validate(self, attrs):
        attrs = super().validate(attrs)
        if attrs["action"] == "redeem" and attrs["value"] <= 0:
            raise serializers.ValidationError({"value": [gettext("Redeem more than nothing.")]})
        if attrs["action"] == "redeem" and (attrs.get("cause") or attrs.get("kind")):
            raise serializers.ValidationError(
                {"cause": [gettext("A redemption has no cause or kind; only grants do.")]}
            )
        return attrs


class CustomerRewardViewSet(KnownParameters, mixins.ListModelMixin, viewsets.GenericViewSet):
    """The lines of one customer's reward ledger, newest first, with the balance per unit."""

    serializer_class = RewardEntrySerializer
    keyset_default_ordering = "-id"

    def customer(self) -> Customer:
        if not hasattr(self, "_customer"):
            self._customer = get_object_or_404(
                queries.visible_customers(self.request.user), pk=self.kwargs["pk"]
            )
        return self._customer

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # the schema, without a customer
            return Reward.objects.none()
        return Reward.objects.filter(customer=self.customer()).select_related("author")

    def list(self, request, *args, **kwargs):
        response = super().list(request, *args, **kwargs)
        ledger = queries.reward_ledger(self.customer(), latest=0)
        response.data["balance"] = {unit: str(total) for unit, total in ledger.balances.items()}
        return response


class ReverseSerializer(serializers.Serializer):
    """Why a reward is taken back."""

    reason = serializers.CharField(max_length=200, required=False, default="Reversed")


class RewardViewSet(mixins.CreateModelMixin, viewsets.GenericViewSet):
    """POST grants or redeems; send an Idempotency-Key header (or `idempotency_key`).
    POST /rewards/{id}/reverse/ takes back what is left of an earned line (marketers; once)."""

    serializer_class = RewardRequestSerializer

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Reward.objects.none()
        visible = queries.visible_customers(self.request.user)
        return Reward.objects.filter(customer__in=visible).select_related("customer")

    @extend_schema(request=ReverseSerializer, responses={201: RewardEntrySerializer})
    @action(detail=True, methods=["post"], serializer_class=ReverseSerializer)
    def reverse(self, request, pk=None):
        if not queries.is_marketer(request.user):
            raise exceptions.PermissionDenied(gettext("Only marketers reverse rewards."))
        entry = self.get_object()
        serializer = ReverseSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        reversal = rewards.reverse(
            entry=entry,
            reason=serializer.validated_data["reason"],
            by=request.user,
            again_is_error=True,
        )
        return Response(RewardEntrySerializer(reversal).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        parameters=[OpenApiParameter(IDEMPOTENCY_HEADER, str, OpenApiParameter.HEADER)],
        responses={201: RewardEntrySerializer},
    )
    def create(self, request, *args, **kwargs):
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        key = request.headers.get(IDEMPOTENCY_HEADER) or data.pop("idempotency_key", "")
        data.pop("idempotency_key", None)
        if len(key) > 100:
            raise exceptions.ValidationError(
                {"idempotency_key": [gettext("At most 100 characters.")]}
            )
        # Keys are the caller's own: another user's same key is another request.
        source_key = f"api:{request.user.pk}:{key}" if key else ""
        action, customer = data.pop("action"), data.pop("customer")
        if action == "grant":
            entry = rewards.grant(customer=customer, by=request.user, source_key=source_key, **data)
        else:
            entry = rewards.redeem(
                customer=customer,
                by=request.user,
                source_key=source_key,
                value=data["value"],
                unit=data.get("unit", Reward.Unit.POINTS),
                reason=data["reason"],
            )
        if not _same_request(entry, action, customer, data):
            raise exceptions.ValidationError(
                {"idempotency_key": [gettext("This key was used for a different request.")]}
            )
        return Response(RewardEntrySerializer(entry).data, status=status.HTTP_201_CREATED)


def _same_request(entry: Reward, action: str, customer: Customer, data: dict) -> bool:
    """Whether the line (perhaps written by an earlier request with the same key) is what this
    request asks for."""
    movement = Reward.Movement.EARNED if action == "grant" else Reward.Movement.REDEEMED
    value = data["value"] if action == "grant" else -data["value"]
    return (
        entry.customer_id == customer.pk
        and entry.movement == movement
        and entry.value == value
        and entry.unit == data.get("unit", Reward.Unit.POINTS)
    )


def register(router) -> None:
    """Put the ledger's endpoints on the API router."""
    router.register(r"customers/(?P<pk>[0-9]+)/rewards", CustomerRewardViewSet, "customer-reward")
    router.register("rewards", RewardViewSet, basename="reward")
