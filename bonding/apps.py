from django.apps import AppConfig


class BondingConfig(AppConfig):
    """The project: dashboard, health check, API router and commands that span apps."""

    name = "bonding"
    verbose_name = "Bonding"

    def ready(self) -> None:
        from django.contrib.auth.signals import user_logged_in

        from bonding.staff_language import remember_on_sign_in

        user_logged_in.connect(remember_on_sign_in, dispatch_uid="staff-language-on-sign-in")
