from django.db import migrations, models


class Migration(migrations.Migration):
    """Delivery reads a batch's survey invitations by their touches: a partial index, since
    invitations sent outside programs have none."""

    dependencies = [("nps", "0012_customer_indexes_cover_audience")]

    operations = [
        migrations.AddIndex(
            model_name="invitation",
            index=models.Index(
                condition=models.Q(("touch_id__isnull", False)),
                fields=["touch_id"],
                name="invitation_touch",
            ),
        ),
    ]
