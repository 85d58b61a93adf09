from django.apps import AppConfig


class EventsConfig(AppConfig):
    """Events customers are invited to: invitations, answers, waitlists and attendance."""

    name = "events"
    verbose_name = "Events"

    def ready(self) -> None:
        from django.utils.translation import pgettext_lazy

        from customers import sayings
        from events import messages
        from programs import content
        from programs.models import Step

        # programs may not import events: it asks here what event touches say.
        for kind in (
            Step.Kind.EVENT_INVITATION,
            Step.Kind.EVENT_REMINDER,
            Step.Kind.EVENT_SEAT,
            Step.Kind.EVENT_CANCELLED,
        ):
            content.provide_kind_values(kind=kind, values_of=messages.values_of)
        # The answer as a timeline line says it ("Answered the invitation to …: yes").
        sayings.register_choices(
            "event_answer",
            {
                "yes": pgettext_lazy("event answer in a timeline line", "yes"),
                "no": pgettext_lazy("event answer in a timeline line", "no"),
                "maybe": pgettext_lazy("event answer in a timeline line", "maybe"),
            },
        )
