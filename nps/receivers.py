"""What the NPS app does when something happens below it."""

from django.dispatch import receiver

from customers.models import Customer
from customers.signals import customers_merged
from nps import services


@receiver(customers_merged, sender=Customer)
def on_customers_merged(sender, survivor, merged, **kwargs) -> None:
    services.move_merged(survivor=survivor, merged=merged)
