"""REST API for the records an account manager keeps beside the customer: accounts, complaints,
contracts, referrals and follow-ups. Scoped like customers (a record of a customer the caller
may not see is a 404); every write goes through a service of records.py, activity.py or
contracts.py."""

from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import Exists, OuterRef, QuerySet
from django.utils.translation import gettext
from django_filters import rest_framework as filters
from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import exceptions, mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.generics import get_object_or_404
from rest_framework.response import Response

from customers import activity, contracts, cursor, queries, records, shapes
from customers.api import PreconditionFailed, as_utc, etag_of
from customers.known_parameters import KnownParameters
from customers.models import Account, Complaint, Contract, Customer, FollowUp, Referral
from customers.rows import storable


class VisibleCustomerField(serializers.PrimaryKeyRelatedField):
    """A customer named by id, among those the caller may see (anyone else's does not exist)."""

    def __init__(self, **kwargs):
        super().__init__(queryset=Customer.objects.none(), **kwargs)

    def get_queryset(self) -> QuerySet[Customer]:
        return queries.visible_customers(self.context["request"].user)


class RecordSerializer(serializers.ModelSerializer):
    """A record as the API writes it: text PostgreSQL cannot store is refused as bad input."""

    def validate(self, attrs):
        unstorable = {
            name: ["Contains a lone surrogate."]
            for name, value in attrs.items()
            if isinstance(value, str) and not storable(value)
        }
        if unstorable:
            raise serializers.ValidationError(unstorable)
        return attrs


class RecordViewSet(KnownParameters, viewsets.GenericViewSet):
    """Records of customers the caller may see, newest first; one record comes with its ETag
    when it has an update time."""

    keyset_default_ordering = "-id"

    def answer(self, record, code: int = status.HTTP_200_OK, serializer_class=None) -> Response:
        """The record as this endpoint shows it, with its ETag."""
        serializer_class = serializer_class or self.get_serializer_class()
        data = serializer_class(record, context=self.get_serializer_context()).data
        response = Response(data, status=code)
        if hasattr(record, "updated_at"):
            response["ETag"] = etag_of(record)
        return response

    def filter_queryset(self, queryset):
        # A list's filters (and their defaults, such as "mine") pick rows of a list; one record
        # is found by its id among those the caller may see.
        return queryset if self.detail else super().filter_queryset(queryset)

    def retrieve(self, request, *args, **kwargs):
        return self.answer(self.get_object())

    def create_with(self, request, write) -> Response:
        """Validate the body, let `write(data)` call the service, answer 201 with the record."""
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        record = write(dict(serializer.validated_data))
        return self.answer(record, status.HTTP_201_CREATED)


class UpdatedSince(filters.FilterSet):
    """`?updated_since=` for incremental sync: the records written at or after a moment."""

    updated_since = filters.IsoDateTimeFilter(method="by_updated_since")

    def by_updated_since(self, queryset, name, value):
        return queryset.filter(updated_at__gte=as_utc(value, "updated_since"))


# The sorts a record with an update time offers: sync clients page by updated_at.
BY_UPDATE = {"id": cursor.whole, "updated_at": cursor.moment}


def sees_everyone_or_403(request) -> None:
    if not queries.sees_everyone(request.user):
        raise exceptions.PermissionDenied(gettext("Only marketers and admins change accounts."))


class AccountSerializer(RecordSerializer):
    """A company B2B customers work for."""

    owner = serializers.SlugRelatedField(
        slug_field="username",
        queryset=get_user_model().objects.all(),
        required=False,
        allow_null=True,
    )

    class Meta:
        model = Account
        fields = ["id", "name", "website", "industry", "owner", "created_at", "updated_at"]
        read_only_fields = ["id", "created_at", "updated_at"]


class AccountFilter(UpdatedSince):
    class Meta:
        model = Account
        fields = ["updated_since"]


class AccountViewSet(
    mixins.ListModelMixin, mixins.CreateModelMixin, mixins.UpdateModelMixin, RecordViewSet
):
    """Accounts: marketers and admins see and change all; account managers read the accounts
    of their customers. Writes honour If-Match."""

    serializer_class = AccountSerializer
    filterset_class = AccountFilter
    keyset_orderings = BY_UPDATE

    def get_queryset(self):
        accounts = Account.objects.select_related("owner")
        if queries.sees_everyone(self.request.user):
            return accounts
        customers = queries.visible_customers(self.request.user)
        return accounts.filter(Exists(customers.filter(account=OuterRef("pk"))))

    def create(self, request, *args, **kwargs):
        sees_everyone_or_403(request)
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        account = records.save_account(account=Account(), data=serializer.validated_data)
        return self.answer(account, status.HTTP_201_CREATED)

    def update(self, request, *args, **kwargs):
        partial = kwargs.pop("partial", False)
        with transaction.atomic():
            account = get_object_or_404(
                self.get_queryset().select_for_update(of=("self",)), pk=kwargs["pk"]
            )
            sees_everyone_or_403(request)
            expected = request.headers.get("If-Match")
            if expected and expected not in ("*", etag_of(account)):
                raise PreconditionFailed(
                    gettext("The account changed since you read it: fetch it again (If-Match).")
                )
            serializer = self.get_serializer(account, data=request.data, partial=partial)
            serializer.is_valid(raise_exception=True)
            records.save_account(account=account, data=serializer.validated_data)
        return self.answer(account)


class ComplaintSerializer(RecordSerializer):
    """A complaint: opened by anyone who sees the customer, owned, then resolved."""

    customer = VisibleCustomerField()
    owner = serializers.SlugRelatedField(slug_field="username", read_only=True, allow_null=True)

    class Meta:
        model = Complaint
        fields = list(shapes.COMPLAINT_FIELDS)
        read_only_fields = [
            "id",
            "owner",
            "status",
            "opened_at",
            "resolution",
            "resolved_at",
            "updated_at",
        ]


class ComplaintResolution(RecordSerializer):
    """How the complaint was resolved."""

    class Meta:
        model = Complaint
        fields = ["resolution"]
        extra_kwargs = {"resolution": {"required": True, "allow_blank": False}}


class ComplaintFilter(UpdatedSince):
    customer = filters.NumberFilter(field_name="customer_id")
    status = filters.ChoiceFilter(choices=Complaint.Status.choices)

    class Meta:
        model = Complaint
        fields = ["customer", "status", "updated_since"]


class ComplaintViewSet(mixins.ListModelMixin, mixins.CreateModelMixin, RecordViewSet):
    """Complaints of customers the caller may see; POST opens one, `resolve` closes it."""

    serializer_class = ComplaintSerializer
    filterset_class = ComplaintFilter
    keyset_orderings = BY_UPDATE

    def get_queryset(self):
        return Complaint.objects.filter(
            customer__in=queries.visible_customers(self.request.user)
        ).select_related("owner")

    def create(self, request, *args, **kwargs):
        def write(data):
            customer = data.pop("customer")
            return activity.open_complaint(customer=customer, by=request.user, **data)

        return self.create_with(request, write)

    @extend_schema(request=ComplaintResolution, responses={200: ComplaintSerializer})
    @action(detail=True, methods=["post"], serializer_class=ComplaintResolution)
    def resolve(self, request, pk=None):
        """Close the complaint with what was done about it (400 when it already is closed)."""
        complaint = self.get_object()
        body = self.get_serializer(data=request.data)
        body.is_valid(raise_exception=True)
        activity.resolve_complaint(
            complaint=complaint, by=request.user, resolution=body.validated_data["resolution"]
        )
        return self.answer(complaint, serializer_class=ComplaintSerializer)


class ContractSerializer(RecordSerializer):
    """A contract with its term, value and renewal."""

    customer = VisibleCustomerField()

    class Meta:
        model = Contract
        fields = [
            "id",
            "customer",
            "title",
            "starts_on",
            "ends_on",
            "value",
            "renewal_status",
            "created_at",
        ]
        read_only_fields = ["id", "renewal_status", "created_at"]

    def validate(self, attrs):
        if attrs["ends_on"] < attrs["starts_on"]:
            raise serializers.ValidationError(
                {"ends_on": [gettext("A contract cannot end before it starts.")]}
            )
        return super().validate(attrs)


class ContractFilter(filters.FilterSet):
    customer = filters.NumberFilter(field_name="customer_id")
    renewal_status = filters.ChoiceFilter(choices=Contract.Renewal.choices)

    class Meta:
        model = Contract
        fields = ["customer", "renewal_status"]


class ContractViewSet(mixins.ListModelMixin, mixins.CreateModelMixin, RecordViewSet):
    """Contracts of customers the caller may see; POST adds one."""

    serializer_class = ContractSerializer
    filterset_class = ContractFilter

    def get_queryset(self):
        return Contract.objects.filter(customer__in=queries.visible_customers(self.request.user))

    def create(self, request, *args, **kwargs):
        def write(data):
            customer = data.pop("customer")
            return contracts.add_contract(customer=customer, by=request.user, **data)

        return self.create_with(request, write)


class ReferralSerializer(RecordSerializer):
    """A customer recommending someone, with the code to recognise them by."""

    referrer = VisibleCustomerField()

    class Meta:
        model = Referral
        fields = list(shapes.REFERRAL_FIELDS)
        read_only_fields = [
            "id",
            "referred_customer",
            "code",
            "status",
            "created_at",
            "converted_at",
            "updated_at",
        ]


class ReferralFilter(UpdatedSince):
    referrer = filters.NumberFilter(field_name="referrer_id")
    status = filters.ChoiceFilter(choices=Referral.Status.choices)

    class Meta:
        model = Referral
        fields = ["referrer", "status", "updated_since"]


class ReferralViewSet(mixins.ListModelMixin, mixins.CreateModelMixin, RecordViewSet):
    """Referrals made by customers the caller may see; POST records one."""

    serializer_class = ReferralSerializer
    filterset_class = ReferralFilter
    keyset_orderings = BY_UPDATE

    def get_queryset(self):
        return Referral.objects.filter(referrer__in=queries.visible_customers(self.request.user))

    def create(self, request, *args, **kwargs):
        def write(data):
            referrer = data.pop("referrer")
            return activity.record_referral(referrer=referrer, by=request.user, **data)

        return self.create_with(request, write)


class FollowUpSerializer(serializers.ModelSerializer):
    """Something to do for a customer by a date, and when it was done."""

    assignee = serializers.SlugRelatedField(slug_field="username", read_only=True, allow_null=True)
    done_by = serializers.SlugRelatedField(slug_field="username", read_only=True, allow_null=True)
    # In the request's language (Accept-Language); webhooks carry the English as stored.
    reason = serializers.CharField(source="shown_reason", read_only=True)

    class Meta:
        model = FollowUp
        fields = list(shapes.FOLLOW_UP_FIELDS)
        read_only_fields = fields


YES_OR_NO = ("true", "false", "1", "0")


@extend_schema_field({"type": "string", "enum": list(YES_OR_NO)})
class YesOrNo(filters.TypedChoiceFilter):
    """A true/false filter that refuses anything else, rather than read it as not given."""

    def __init__(self, **kwargs):
        super().__init__(
            choices=[(word, word) for word in YES_OR_NO],
            coerce=lambda word: word in ("true", "1"),
            empty_value=None,
            **kwargs,
        )


class FollowUpFilter(UpdatedSince):
    customer = filters.NumberFilter(field_name="customer_id")
    mine = YesOrNo(
        method="assigned_to_me",
        label="Only those assigned to me (the default for account managers; mine=0 for all)",
    )
    done = YesOrNo(field_name="done_at", lookup_expr="isnull", exclude=True)

    class Meta:
        model = FollowUp
        fields = ["customer", "mine", "done", "updated_since"]

    def assigned_to_me(self, queryset, name, value):
        return queryset  # applied in filter_queryset, where its default is known

    def filter_queryset(self, queryset):
        mine = self.form.cleaned_data.get("mine")
        if mine is None:
            mine = not queries.sees_everyone(self.request.user)
        if mine:
            queryset = queryset.filter(assignee=self.request.user)
        return super().filter_queryset(queryset)


class FollowUpViewSet(mixins.ListModelMixin, RecordViewSet):
    """Follow-ups on customers the caller may see, soonest due first; `complete` ticks one off."""

    serializer_class = FollowUpSerializer
    filterset_class = FollowUpFilter
    keyset_orderings = {**BY_UPDATE, "due_at": cursor.moment}
    keyset_default_ordering = "due_at"

    def get_queryset(self):
        return FollowUp.objects.filter(
            customer__in=queries.visible_customers(self.request.user)
        ).select_related("customer", "assignee", "done_by")

    @extend_schema(request=None, responses={200: FollowUpSerializer})
    @action(detail=True, methods=["post"])
    def complete(self, request, pk=None):
        """Mark it done; completing one already done changes nothing."""
        follow_up = self.get_object()
        activity.complete_follow_up(follow_up=follow_up, by=request.user)
        return self.answer(follow_up)


def register(router) -> None:
    """Put the records' endpoints on the API router."""
    router.register("accounts", AccountViewSet, basename="account")
    router.register("complaints", ComplaintViewSet, basename="complaint")
    router.register("contracts", ContractViewSet, basename="contract")
    router.register("referrals", ReferralViewSet, basename="referral")
    router.register("follow-ups", FollowUpViewSet, basename="follow-up")
