from django.apps import AppConfig


class EventsConfig(AppConfig):
    """Events customers are invited to: invitations, answers, waitlists and attendance."""

    name = "events"
    verbose_name = "Events"

    def ready(self) -> None:
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
