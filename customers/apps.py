from django.apps import AppConfig


class CustomersConfig(AppConfig):
    """People and accounts, the ladder, and everything an account manager logs."""

    name = "customers"
    verbose_name = "Customers"

    def ready(self) -> None:
        from customers import timeline_words

        timeline_words.register()
