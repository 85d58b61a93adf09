"""Forms of the event pages: an event's settings, and a search for check-in."""

from datetime import datetime
from zoneinfo import ZoneInfo

from django import forms
from django.conf import settings
from django.utils.translation import gettext, gettext_lazy

from customers.forms import TIME_ZONES, AudienceFields
from events.models import Event

LOCAL_FORMAT = "%Y-%m-%dT%H:%M"


class LocalDateTimeInput(forms.DateTimeInput):
    input_type = "datetime-local"

    def __init__(self, **kwargs) -> None:
        super().__init__(format=LOCAL_FORMAT, **kwargs)


class EventForm(AudienceFields, forms.ModelForm):
    """An event: what, when (in the event's own time zone), where, for whom, how many."""

    starts_at = forms.DateTimeField(
        label=gettext_lazy("Starts"), widget=LocalDateTimeInput(), input_formats=[LOCAL_FORMAT]
    )
    ends_at = forms.DateTimeField(
        label=gettext_lazy("Ends"), widget=LocalDateTimeInput(), input_formats=[LOCAL_FORMAT]
    )
    timezone = forms.ChoiceField(
        choices=[("UTC", "UTC"), *TIME_ZONES[1:]], label=gettext_lazy("Time zone of the event")
    )

    class Meta:
        model = Event
        fields = [
            "name",
            "description",
            "starts_at",
            "ends_at",
            "timezone",
            "place",
            "online_url",
            "capacity",
            "tiers",
            "audiences",
            "relationships",
            "host",
            "status",
        ]
        widgets = {
            "description": forms.Textarea(attrs={"rows": 3}),
            "tiers": forms.CheckboxSelectMultiple,
        }
        help_texts = {"tiers": "None ticked means every tier."}

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        event = self.instance
        if not self.is_bound:
            zone = ZoneInfo(event.timezone if event.pk else settings.TIME_ZONE)
            self.initial["timezone"] = zone.key
            for name in ("starts_at", "ends_at"):
                value = getattr(event, name)
                if value is not None:
                    self.initial[name] = value.astimezone(zone).replace(tzinfo=None)

    def clean(self) -> dict:
        data = super().clean()
        zone_name = data.get("timezone")
        if zone_name:
            # The times are read in the event's zone, whatever the browser's.
            zone = ZoneInfo(zone_name)
            for name in ("starts_at", "ends_at"):
                value: datetime | None = data.get(name)
                if value is not None:
                    data[name] = value.replace(tzinfo=None).replace(tzinfo=zone)
        starts, ends = data.get("starts_at"), data.get("ends_at")
        if starts and ends and ends <= starts:
            self.add_error("ends_at", gettext("The event must end after it starts."))
        if not (data.get("place") or data.get("online_url")):
            self.add_error("place", gettext("Say where the event is, or give its online link."))
        return data
