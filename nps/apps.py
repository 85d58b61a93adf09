from django.apps import AppConfig


class NpsConfig(AppConfig):
    """Net Promoter Score surveys, invitations and responses."""

    name = "nps"
    verbose_name = "NPS"
