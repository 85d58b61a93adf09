from django.apps import AppConfig


class ProgramsConfig(AppConfig):
    """Bonding programs, their steps, enrollments and touches."""

    name = "programs"
    verbose_name = "Programs"

    def ready(self) -> None:
        from nps import mail

        # Registers the checks; connects the signals (e-mail events too).
        from programs import checks, email_webhooks, receivers  # noqa: F401
        from programs.list_filters import add_program_filter
        from programs.unsubscribe import unsubscribe_tokens

        mail.provide_unsubscribe_tokens(unsubscribe_tokens)
        add_program_filter()
