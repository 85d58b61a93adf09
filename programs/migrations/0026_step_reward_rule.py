"""A gift step's own reward kind and value fold into a reward rule the step carries."""

import django.db.models.deletion
from django.db import migrations, models


def fold_into_rules(apps, schema_editor):
    Step = apps.get_model("programs", "Step")
    RewardRule = apps.get_model("customers", "RewardRule")
    # Settlement gave a reward for a gift step with a kind, in money (give_reward's unit).
    for step in Step.objects.filter(kind="gift").exclude(reward_kind=""):
        step.reward_rule = RewardRule.objects.create(
            event="step_sent",
            kind=step.reward_kind,
            value=step.reward_value,
            unit="money",
            active=True,
        )
        step.save(update_fields=["reward_rule"])


def unfold(apps, schema_editor):
    Step = apps.get_model("programs", "Step")
    for step in Step.objects.filter(reward_rule__isnull=False).select_related("reward_rule"):
        step.reward_kind = step.reward_rule.kind
        step.reward_value = step.reward_rule.value
        step.save(update_fields=["reward_kind", "reward_value"])


class Migration(migrations.Migration):
    dependencies = [
        ("customers", "0026_step_reward_rules"),
        ("programs", "0025_eight_steps_in_german_and_spanish"),
    ]

    operations = [
        migrations.AddField(
            model_name="step",
            name="reward_rule",
            field=models.ForeignKey(
                blank=True,
                help_text="What the customer earns, once per touch of this step sent.",
                null=True,
                on_delete=django.db.models.deletion.SET_NULL,
                related_name="steps",
                to="customers.rewardrule",
            ),
        ),
        migrations.RunPython(fold_into_rules, unfold),
        migrations.RemoveField(model_name="step", name="reward_kind"),
        migrations.RemoveField(model_name="step", name="reward_value"),
    ]
