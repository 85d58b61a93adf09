"""Events' own programs made before programs knew them apart are marked `for_event`, so the
programs page lists them in their own section."""

from django.db import migrations


def mark(apps, schema_editor):
    Program = apps.get_model("programs", "Program")
    Event = apps.get_model("events", "Event")
    owned = Event.objects.filter(program__isnull=False).values("program_id")
    Program.objects.filter(pk__in=owned).update(for_event=True)


class Migration(migrations.Migration):
    dependencies = [
        ("events", "0003_reminder_says_the_day"),
        ("programs", "0020_program_for_event"),
    ]

    operations = [migrations.RunPython(mark, migrations.RunPython.noop)]
