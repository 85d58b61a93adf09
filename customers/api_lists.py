"""Static lists in the API: the caller's lists (everyone's for marketers), making one from ids
or e-mails, adding and removing members, and the customers on a list."""

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError
from django.utils.translation import gettext
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import exceptions, mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from customers import static_lists
from customers.api import CustomerSerializer, customers_page
from customers.known_parameters import KnownParameters
from customers.models import StaticList


def entries_field(**kwargs) -> serializers.ListField:
    """Customers by id or e-mail address (a new field each time: a field belongs to one form)."""
    return serializers.ListField(
        child=serializers.CharField(max_length=254, allow_blank=True),
        max_length=static_lists.MAX_ENTRIES,
        required=False,
        help_text='Customers by id or e-mail address, e.g. ["12", "ana@example.com"].',
        **kwargs,
    )


class StaticListSerializer(serializers.ModelSerializer):
    """A static list: its name, its author and how many customers are on it."""

    owner = serializers.SlugRelatedField(slug_field="username", read_only=True)
    size = serializers.IntegerField(read_only=True, help_text="Customers on the list.")
    customers = entries_field(write_only=True)

    class Meta:
        model = StaticList
        fields = ["id", "name", "owner", "size", "customers", "created_at", "updated_at"]
        read_only_fields = ["id", "owner", "size", "created_at", "updated_at"]


class MembersSerializer(serializers.Serializer):
    add = entries_field()
    remove = entries_field()


def outcome_data(outcome: static_lists.Outcome, done: str) -> dict:
    return {done: outcome.changed, "unchanged": outcome.unchanged, "refused": outcome.refused}


class StaticListViewSet(
    KnownParameters,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.DestroyModelMixin,
    viewsets.GenericViewSet,
):
    """Static lists the caller may use; POST makes one; `members` adds and removes customers
    (the author only); `customers` lists who is on one now."""

    serializer_class = StaticListSerializer
    keyset_default_ordering = "id"

    def get_queryset(self):
        return static_lists.lists_for(self.request.user)

    @extend_schema(
        responses={
            201: inline_serializer(
                "StaticListCreated",
                {
                    "list": StaticListSerializer(),
                    "added": serializers.IntegerField(),
                    "refused": serializers.ListField(child=serializers.DictField()),
                },
            )
        }
    )
    def create(self, request, *args, **kwargs):
        body = self.get_serializer(data=request.data)
        body.is_valid(raise_exception=True)
        try:
            made, outcome = static_lists.create_list(
                owner=request.user,
                name=body.validated_data["name"],
                entries=body.validated_data.get("customers", []),
            )
        except ValidationError as error:
            raise exceptions.ValidationError(error.message_dict) from None
        made = self.get_queryset().get(pk=made.pk)  # with its size
        data = {"list": self.get_serializer(made).data, **outcome_data(outcome, "added")}
        del data["unchanged"]
        return Response(data, status=status.HTTP_201_CREATED)

    def perform_destroy(self, instance):
        try:
            static_lists.delete_list(static_list=instance, by=self.request.user)
        except DjangoPermissionDenied:
            raise exceptions.PermissionDenied(
                gettext("Only the list's author changes it.")
            ) from None

    @extend_schema(
        request=MembersSerializer,
        responses={
            200: inline_serializer(
                "StaticListMembersChanged",
                {
                    "added": serializers.DictField(),
                    "removed": serializers.DictField(),
                },
            )
        },
    )
    @action(detail=True, methods=["post"], serializer_class=MembersSerializer)
    def members(self, request, pk=None):
        """Add and remove customers, by id or e-mail: the good entries land, the others are
        reported by index."""
        static_list = self.get_object()
        body = MembersSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        try:
            added, removed = static_lists.change_members(
                static_list=static_list,
                by=request.user,
                add=body.validated_data.get("add", []),
                remove=body.validated_data.get("remove", []),
            )
        except DjangoPermissionDenied:
            raise exceptions.PermissionDenied(
                gettext("Only the list's author changes it.")
            ) from None
        except ValidationError as error:
            raise exceptions.ValidationError(error.message_dict) from None
        return Response(
            {"added": outcome_data(added, "added"), "removed": outcome_data(removed, "removed")}
        )

    @extend_schema(responses={200: CustomerSerializer(many=True)}, filters=False)
    @action(detail=True, methods=["get"], serializer_class=CustomerSerializer)
    def customers(self, request, pk=None):
        """The customers on the list now, by id, in cursor pages."""
        static_list = self.get_object()
        return customers_page(self, request, static_lists.list_customers(static_list))


def register(router) -> None:
    """Put the static lists on the API router."""
    router.register("lists", StaticListViewSet, basename="static-list")
