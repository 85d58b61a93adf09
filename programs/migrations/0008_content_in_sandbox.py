"""Step content moves from Django's template language to the sandboxed Jinja2 subset of
programs/sandbox.py: names instead of model attributes, filter arguments in parentheses."""

import re

from django.db import migrations, models

CONTENT_FIELDS = ["email_subject", "email_body", "sms_body", "letter_body", "call_script"]
TAG = re.compile(r"(\{\{.*?\}\}|\{%.*?%\})", re.DOTALL)
QUOTED = re.compile(r"(\"[^\"]*\"|'[^']*')")
# Model attributes content used to reach, and the plain names that replace them (frozen here:
# a migration must not follow later changes of the app).
RENAMES = [
    (r"\bcustomer\.owner\.email\b", "owner_email"),
    (r"\bcustomer\.tier\.name\b", "tier"),
    (r"\bcustomer\.(get_full_name|name|full_name)\b", "full_name"),
    (r"\bcustomer\.first_name\b", "first_name"),
    (r"\bcustomer\.last_name\b", "last_name"),
    (r"\borganization\b", "organization_name"),
]
FILTER_ARGUMENT = re.compile(r"\|\s*(\w+)\s*:\s*(\"[^\"]*\"|'[^']*'|[\w.]+)")
COMMENT = re.compile(r"\{%\s*comment\s*%\}(.*?)\{%\s*endcomment\s*%\}", re.DOTALL)


def _expression(text: str) -> str:
    parts = QUOTED.split(text)
    for index in range(0, len(parts), 2):  # outside quotes only: literals stay as written
        for pattern, name in RENAMES:
            parts[index] = re.sub(pattern, name, parts[index])
    return FILTER_ARGUMENT.sub(r"|\1(\2)", "".join(parts))


def convert(text: str) -> str:
    """Django template syntax to the sandbox's, where they differ (idempotent)."""
    text = COMMENT.sub(lambda match: "{#" + match.group(1).replace("#}", "# }") + "#}", text)
    return TAG.sub(lambda match: _expression(match.group(0)), text)


def forwards(apps, schema_editor):
    Step = apps.get_model("programs", "Step")
    for step in Step.objects.all().iterator():
        changed = [f for f in CONTENT_FIELDS if convert(getattr(step, f)) != getattr(step, f)]
        for field in changed:
            setattr(step, field, convert(getattr(step, field)))
        if changed:
            step.save(update_fields=changed)


class Migration(migrations.Migration):
    dependencies = [("programs", "0007_touch_unsettled")]

    operations = [
        migrations.RunPython(forwards, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="step",
            name="email_body",
            field=models.TextField(
                blank=True, help_text="Sandboxed template: the names and filters listed above."
            ),
        ),
    ]
