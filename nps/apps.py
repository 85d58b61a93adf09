from django.apps import AppConfig


class NpsConfig(AppConfig):
    """Net Promoter Score surveys, invitations and responses."""

    name = "nps"
    verbose_name = "NPS"

    def ready(self) -> None:
        from nps import receivers  # noqa: F401 - connects the signals it listens to
