"""Static lists: a named group of customers chosen one by one (ticked on the list, or from a
file of ids or e-mails), where a segment is a saved filter."""

from django.conf import settings
from django.db import models
from django.utils.timezone import now

from customers.models.record import Customer


class StaticList(models.Model):
    """A named list of chosen customers, owned by its author; marketers use everyone's."""

    name = models.CharField(max_length=120)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="static_lists"
    )
    created_at = models.DateTimeField(default=now)
    updated_at = models.DateTimeField(default=now)

    class Meta:
        ordering = ["name", "id"]
        constraints = [
            models.UniqueConstraint(fields=["owner", "name"], name="static_list_owner_name_unique")
        ]

    def __str__(self) -> str:
        return self.name


class StaticListMember(models.Model):
    """One customer on a static list."""

    static_list = models.ForeignKey(StaticList, on_delete=models.CASCADE, related_name="members")
    customer = models.ForeignKey(
        Customer, on_delete=models.CASCADE, related_name="static_list_memberships"
    )
    added_at = models.DateTimeField(default=now)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["static_list", "customer"], name="static_list_member_unique"
            )
        ]
        # The unique constraint's index serves "who is on this list"; this one serves
        # "which lists is this customer on" (and the deletion of a customer).
        indexes = [models.Index(fields=["customer"], name="static_list_member_customer")]

    def __str__(self) -> str:
        return f"{self.customer_id} on {self.static_list_id}"
