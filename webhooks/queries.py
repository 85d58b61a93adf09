"""Reads of the webhooks app for other pages."""

from django.contrib.auth.models import AbstractBaseUser

from webhooks.models import Endpoint


def disabled_endpoints(owner: AbstractBaseUser) -> list[Endpoint]:
    """The owner's endpoints disabled after failing for days: the dashboard tells them, since
    an owner without an e-mail address hears of it nowhere else."""
    return list(
        Endpoint.objects.filter(owner_id=owner.pk, disabled_at__isnull=False)
        .only("id", "url", "disabled_at", "disabled_reason")
        .order_by("-disabled_at")
    )
