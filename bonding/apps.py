from django.apps import AppConfig


class BondingConfig(AppConfig):
    """The project: dashboard, health check, API router and commands that span apps."""

    name = "bonding"
    verbose_name = "Bonding"
