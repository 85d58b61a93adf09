from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("webhooks", "0001_outbox"),
    ]

    operations = [
        migrations.RemoveField(model_name="event", name="data"),
        migrations.AddField(
            model_name="event",
            name="payload",
            field=models.TextField(default=""),
            preserve_default=False,
        ),
    ]
