"""What the NPS app does when something happens below it."""

from django.db.models.signals import pre_delete
from django.dispatch import receiver

from customers.models import Customer
from customers.signals import customers_merged
from nps import services


@receiver(customers_merged, sender=Customer)
def on_customers_merged(sender, survivor, merged, **kwargs) -> None:
    services.move_merged(survivor=survivor, merged=merged)


@receiver(pre_delete, sender=Customer)
def on_customer_deleted(sender, instance, **kwargs) -> None:
    # Deleting a customer (the back office can) deletes their answers and invitations with
    # them: they leave the tallies first, in the same transaction.
    services.forget_tallied(customer_id=instance.pk)
