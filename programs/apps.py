from django.apps import AppConfig


class ProgramsConfig(AppConfig):
    """Bonding programs, their steps, enrollments and touches."""

    name = "programs"
    verbose_name = "Programs"

    def ready(self) -> None:
        from nps import mail
        from programs import checks, receivers  # noqa: F401 - register checks, connect signals
        from programs.unsubscribe import unsubscribe_tokens

        mail.provide_unsubscribe_tokens(unsubscribe_tokens)
