"""Event programs made before the reminder said the event's day: their reminder steps still
saying "tomorrow" in the shipped words say `{{ event_day }}` instead (words a marketer changed
are left alone)."""

from django.db import migrations

OLD_TO_NEW = {
    "email_subject": ("Tomorrow: {{ event_name }}", "See you {{ event_day }}: {{ event_name }}"),
    "email_body": ("seeing you tomorrow at", "seeing you {{ event_day }} at"),
    "sms_body": ("See you tomorrow at", "See you {{ event_day }} at"),
    "call_script": ("{{ event_name }} tomorrow,", "{{ event_name }} {{ event_day }},"),
}


def say_the_day(apps, schema_editor):
    Step = apps.get_model("programs", "Step")
    for step in Step.objects.filter(kind="event_reminder", program__event__isnull=False):
        for field, (old, new) in OLD_TO_NEW.items():
            setattr(step, field, getattr(step, field).replace(old, new))
        step.save(update_fields=list(OLD_TO_NEW))


class Migration(migrations.Migration):
    dependencies = [
        ("events", "0002_invite_runs"),
        ("programs", "0019_event_cancelled_kind"),
    ]

    operations = [migrations.RunPython(say_the_day, migrations.RunPython.noop)]
