from django.apps import AppConfig


class WebhooksConfig(AppConfig):
    """Outbound webhooks: the outbox of events and their signed delivery to subscribers."""

    default_auto_field = "django.db.models.BigAutoField"
    name = "webhooks"
    verbose_name = "Webhooks"
