from django.db import migrations


def create(apps, schema_editor):
    Survey = apps.get_model("nps", "Survey")
    if not Survey.objects.exists():
        Survey.objects.create(
            name="Customer satisfaction benchmark",
            ask_preferred_channel=True,
            premium="a 10% voucher on your next order",
        )


class Migration(migrations.Migration):
    dependencies = [("nps", "0001_surveys")]

    operations = [migrations.RunPython(create, migrations.RunPython.noop)]
