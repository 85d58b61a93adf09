from django.db import migrations


def count_tallies(apps, schema_editor):
    from nps import services

    services.rebuild_tallies(registry=apps)


class Migration(migrations.Migration):
    """Existing answers and invitations counted into the new tallies."""

    dependencies = [
        ("nps", "0004_tallies"),
    ]

    operations = [migrations.RunPython(count_tallies, migrations.RunPython.noop)]
