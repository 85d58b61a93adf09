from django.db import migrations


class Migration(migrations.Migration):
    """Existing answers and invitations were counted into the tallies here; 0009 counts them
    again by audience, with the services' current shape, so this step no longer runs."""

    dependencies = [
        ("nps", "0004_tallies"),
    ]

    operations = []
