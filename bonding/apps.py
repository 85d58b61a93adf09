from django.apps import AppConfig


class BondingConfig(AppConfig):
    """The project: dashboard, health check, API router and commands that span apps."""

    name = "bonding"
    verbose_name = "Bonding"

    def ready(self) -> None:
        from django.contrib.auth.signals import user_logged_in

        from bonding.staff_language import chosen_language, remember_on_sign_in
        from customers.languages import provide_staff_language

        # Messages to staff sent by lower apps (a detractor alert) read the user's choice.
        provide_staff_language(chosen_language)
        user_logged_in.connect(remember_on_sign_in, dispatch_uid="staff-language-on-sign-in")
