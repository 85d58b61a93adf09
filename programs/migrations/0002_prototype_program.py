from decimal import Decimal

from django.db import migrations

FOOTER = ""  # the sender adds the organization's address and the unsubscribe link

STEPS = [
    # order, kind, name, anchor, offset, subject, body, sms
    (1, "welcome_kit", "Welcome kit", "enrollment", 0,
     "Welcome, {{ first_name|default('and thank you') }}",
     "Dear {{ first_name|default('customer') }},\n\nthank you for choosing us. Your welcome kit is on its way: everything you need to get the most from your first weeks.\n\nIf anything is unclear, {{ owner_name }} is your contact and happy to help.\n",
     "Welcome {{ first_name }}! Your welcome kit is on its way. {{ owner_name }} is your contact."),
    (2, "satisfaction_survey", "Satisfaction survey", "enrollment", 14,
     "How are we doing, {{ first_name|default('dear customer') }}?",
     "Dear {{ first_name|default('customer') }},\n\ntwo weeks in: how likely are you to recommend us to a friend or colleague? Three short questions, one minute.\n\n{{ survey_url }}\n{% if premium %}\nAs a thank-you for answering: {{ premium }}.\n{% endif %}",
     "How likely are you to recommend us? Tell us in one minute: {{ survey_url }}"),
    (3, "check_in", "Check-in", "enrollment", 45,
     "Checking in",
     "Dear {{ first_name|default('customer') }},\n\njust checking in: is everything working as you hoped? Reply to this e-mail and {{ owner_name }} will get back to you.\n",
     "Hi {{ first_name }}, all good with us? Reply and {{ owner_name }} will call you back."),
    (4, "cross_sell", "Cross-sell", "enrollment", 90,
     "Something more for you",
     "Dear {{ first_name|default('customer') }},\n\ncustomers like you also enjoy {{ categories_not_bought|join(', ')|default('our other ranges') }}. Ask {{ owner_name }} for a recommendation.\n",
     "{{ first_name }}, have you seen our {{ categories_not_bought|join(', ')|default('other ranges') }}?"),
    (5, "gift", "Free gift or trial", "enrollment", 150,
     "A gift for you",
     "Dear {{ first_name|default('customer') }},\n\nthank you for being with us: a small gift is on its way to you.\n",
     "{{ first_name }}, a small gift is on its way to you. Thank you!"),
    (6, "refer_friend", "Refer a friend", "enrollment", 180,
     "Know someone who would like us?",
     "Dear {{ first_name|default('customer') }},\n\nif you know someone who would like what we do, give them your code {{ referral_code }}: you will both be thanked.\n",
     "Know someone who would like us? Give them your code {{ referral_code }}."),
    (7, "renewal", "Contract renewal", "contract_end", -30,
     "Your contract renews soon",
     "Dear {{ first_name|default('customer') }},\n\nyour contract ends in a month. {{ owner_name }} will be glad to talk about what comes next.\n",
     "{{ first_name }}, your contract ends in a month. {{ owner_name }} will be in touch."),
    (8, "anniversary", "Anniversary", "anniversary_enrollment", 0,
     "Happy anniversary!",
     "Dear {{ first_name|default('customer') }},\n\nanother year together: thank you.\n",
     "Another year together, {{ first_name }}: thank you!"),
]


def create(apps, schema_editor):
    Program = apps.get_model("programs", "Program")
    Step = apps.get_model("programs", "Step")
    if Program.objects.filter(is_prototype=True).exists():
        return
    program = Program.objects.create(
        name="Eight-step bonding program",
        description="The prototypical bonding program: from welcome kit to anniversary.",
        is_prototype=True,
    )
    for order, kind, name, anchor, offset, subject, body, sms in STEPS:
        Step.objects.create(
            program=program, order=order, kind=kind, name=name, anchor=anchor, offset_days=offset,
            email_subject=subject, email_body=body, sms_body=sms,
            letter_body=body, call_script=f"Call about: {name.lower()}.\n\n{body}",
            premium="a 10% voucher" if kind == "satisfaction_survey" else "",
            fallbacks=["email", "letter"],
            **(_gift(apps, Step) if kind == "gift" else {}),
        )


def _gift(apps, Step):
    """The gift step's reward: its own fields here; a reward rule it carries on today's models
    (the tests run this again after a flush; programs 0019 folds the fields into a rule)."""
    if any(field.name == "reward_kind" for field in Step._meta.get_fields()):
        return {"reward_kind": "gift", "reward_value": Decimal("10.00")}
    RewardRule = apps.get_model("customers", "RewardRule")
    rule = RewardRule.objects.create(
        event="step_sent", kind="gift", value=Decimal("10.00"), unit="money"
    )
    return {"reward_rule": rule}


def remove(apps, schema_editor):
    apps.get_model("programs", "Program").objects.filter(is_prototype=True).delete()


class Migration(migrations.Migration):
    dependencies = [("programs", "0001_outbox")]

    operations = [migrations.RunPython(create, remove)]
