"""The invitation's "add to calendar" file (iCalendar, RFC 5545), made with `icalendar`."""

from urllib.parse import urlsplit

from django.conf import settings
from icalendar import Calendar
from icalendar import Event as CalendarEvent

from events.links import invitation_url
from events.models import Event, Invitation


def ics_for(invitation: Invitation) -> bytes:
    """One VEVENT for the invitation's event: the same UID for every guest and every download,
    so a calendar updates the entry instead of adding a second one."""
    event: Event = invitation.event
    domain = urlsplit(settings.SITE_URL).hostname or "localhost"
    calendar = Calendar()
    calendar.add("prodid", f"-//{settings.ORGANIZATION_NAME}//Bonding events//EN")
    calendar.add("version", "2.0")
    calendar.add("method", "PUBLISH")
    entry = CalendarEvent()
    entry.add("uid", f"event-{event.pk}@{domain}")
    entry.add("summary", event.name)
    entry.add("dtstart", event.starts_at)
    entry.add("dtend", event.ends_at)
    entry.add("dtstamp", event.created_at)
    if event.place:
        entry.add("location", event.place)
    description = event.description
    if event.online_url:
        description = f"{description}\n\nJoin online: {event.online_url}".strip()
    if description:
        entry.add("description", description)
    entry.add("url", invitation_url(invitation.token))
    if event.status == Event.Status.CANCELLED:
        entry.add("status", "CANCELLED")
    calendar.add_component(entry)
    return calendar.to_ical()
