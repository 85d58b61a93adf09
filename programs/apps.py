from django.apps import AppConfig


class ProgramsConfig(AppConfig):
    """Bonding programs, their steps, enrollments and touches."""

    name = "programs"
    verbose_name = "Programs"

    def ready(self) -> None:
        from nps import mail
        from programs import receivers  # noqa: F401 - connects the signals it listens to
        from programs.unsubscribe import unsubscribe_tokens

        mail.provide_unsubscribe_tokens(unsubscribe_tokens)
