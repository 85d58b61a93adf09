"""Forms of the program pages: a program's settings, a step, the preview's customer, the
channels a customer stops on the public unsubscribe page, whose an SMS reply is."""

from decimal import Decimal

from django import forms
from django.conf import settings
from django.db.models import Q
from django.utils.translation import gettext, gettext_lazy

from customers.contact import normalize_email
from customers.forms import AudienceFields
from customers.models import Channel, Customer, Reward, Topic
from programs.models import Program, Step

# The holdout share a new program starts with (percent).
NEW_PROGRAM_HOLDOUT = 10

CONTENT_FIELDS = [
    "kind",
    "name",
    "channel_mode",
    "channel",
    "email_subject",
    "email_body",
    "sms_body",
    "letter_body",
    "call_script",
    "premium",
]


class ProgramForm(AudienceFields, forms.ModelForm):
    """A program's settings: who may join, when again, and when they leave."""

    class Meta:
        model = Program
        fields = [
            "name",
            "description",
            "is_active",
            "tiers",
            "audiences",
            "relationships",
            "reentry",
            "reentry_days",
            "exit_when_unsubscribed",
            "goal_tier",
            "auto_enroll_tier",
            "asks_promoters",
            "track_clicks",
            "enroll_when_at_risk",
            "holdout_share",
        ]
        widgets = {
            "description": forms.Textarea(attrs={"rows": 2}),
            "tiers": forms.CheckboxSelectMultiple,
        }
        help_texts = {"tiers": "None ticked means every tier."}
        labels = {
            "is_active": "Active (touches go out; customers may be enrolled)",
            "holdout_share": "Holdout share (%)",
        }

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        # Left out, a new program holds out 10 % and a program being changed keeps its share.
        self.fields["holdout_share"].required = False
        if self.instance.pk is None:
            self.initial.setdefault("holdout_share", NEW_PROGRAM_HOLDOUT)

    def clean_holdout_share(self) -> int:
        share = self.cleaned_data.get("holdout_share")
        if share is not None:
            return share
        return self.instance.holdout_share if self.instance.pk else NEW_PROGRAM_HOLDOUT

    def clean(self) -> dict:
        data = super().clean()
        if data.get("reentry") == Program.Reentry.AFTER_DAYS and not data.get("reentry_days"):
            self.add_error(
                "reentry_days", gettext("Say after how many days a customer may rejoin.")
            )
        return data


VERSIONED_FIELDS = ("email_subject", "email_body", "sms_body", "letter_body", "call_script")
VERSION_MAX_LENGTHS = {"email_subject": 200, "sms_body": 480}
VERSION_ROWS = {"email_body": 6, "sms_body": 3, "letter_body": 4, "call_script": 3}


def step_version_fields() -> list[tuple[str, str, str]]:
    """(language, its name, content field) for each language besides the organization's."""
    return [
        (code, str(name), field)
        for code, name in settings.LANGUAGES
        if code != settings.LANGUAGE_CODE
        for field in VERSIONED_FIELDS
    ]


def version_field(language: str, field: str) -> str:
    return f"version_{language}_{field}"


def field_label(field: str) -> str:
    return str(Step._meta.get_field(field).verbose_name).capitalize()


class StepForm(forms.ModelForm):
    """One step: what, when, on which channel, saying what (programs.sandbox's language)."""

    fallbacks = forms.MultipleChoiceField(
        choices=Channel.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=gettext_lazy(
            "Tried in this order when the customer has not consented to the first one."
        ),
    )
    # The step's reward rule, edited with the step: what each customer earns once per touch.
    reward_kind = forms.ChoiceField(
        choices=[("", "No reward"), *Reward.Kind.choices], required=False, label="Reward"
    )
    reward_value = forms.DecimalField(
        min_value=0, max_digits=10, decimal_places=2, required=False, initial=0
    )
    reward_unit = forms.ChoiceField(
        choices=Reward.Unit.choices, required=False, initial=Reward.Unit.MONEY
    )

    class Meta:
        model = Step
        fields = [
            "kind",
            "name",
            "anchor",
            "offset_days",
            "channel_mode",
            "channel",
            "fallbacks",
            "email_subject",
            "email_body",
            "sms_body",
            "letter_body",
            "call_script",
            "premium",
            "topic",
        ]
        widgets = {
            "email_body": forms.Textarea(attrs={"rows": 8}),
            "sms_body": forms.Textarea(attrs={"rows": 3}),
            "letter_body": forms.Textarea(attrs={"rows": 6}),
            "call_script": forms.Textarea(attrs={"rows": 4}),
        }
        help_texts = {
            "channel": "Used when the step has a fixed channel.",
            "letter_body": "Blank uses the e-mail body.",
            "call_script": "Blank uses the e-mail body.",
        }
        labels = {"topic": "Only for customers who chose the topic"}

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        # Retired topics are not offered, but a step keeps the one it has.
        current = self.instance.topic_id if self.instance.pk else None
        self.fields["topic"].queryset = Topic.objects.filter(Q(is_active=True) | Q(pk=current))
        self.fields["topic"].empty_label = "Everyone enrolled"
        # The versions in other languages come last: the page shows them in their own part.
        versions = self.instance.versions if isinstance(self.instance.versions, dict) else {}
        for language, name, field in step_version_fields():
            self.fields[version_field(language, field)] = forms.CharField(
                required=False,
                max_length=VERSION_MAX_LENGTHS.get(field),
                label=f"{field_label(field)} ({name})",
                widget=forms.Textarea(attrs={"rows": VERSION_ROWS[field]})
                if field in VERSION_ROWS
                else forms.TextInput(),
                initial=versions.get(language, {}).get(field, ""),
            )
        rule = self.instance.reward_rule if self.instance.pk else None
        if rule is not None and rule.active:
            self.initial.update(
                reward_kind=rule.kind, reward_value=rule.value, reward_unit=rule.unit
            )

    def clean(self) -> dict:
        data = super().clean()
        if data.get("reward_value") is None:
            data["reward_value"] = Decimal(0)
        data["reward_unit"] = data.get("reward_unit") or Reward.Unit.MONEY
        if data["reward_value"] and not data.get("reward_kind"):
            self.add_error("reward_kind", gettext("Say what the reward is."))
        # The reminder and the freed seat belong to an event's own program, which schedules
        # them; in any other program they would wait for a date that never comes.
        event_only = (Step.Kind.EVENT_REMINDER, Step.Kind.EVENT_SEAT, Step.Kind.EVENT_CANCELLED)
        if data.get("kind") in event_only and data.get("kind") != self.instance.kind:
            self.add_error("kind", gettext("Only an event's own program has this step."))
        if data.get("anchor") == Step.Anchor.EVENT and self.instance.anchor != Step.Anchor.EVENT:
            self.add_error("anchor", gettext("Only an event's own program has this anchor."))
        data["versions"] = self.versions()
        return data

    def versions(self) -> dict[str, dict[str, str]]:
        """The content in other languages the marketer wrote, without the blank fields."""
        versions: dict[str, dict[str, str]] = {}
        for language, _name, field in step_version_fields():
            text = (self.cleaned_data.get(version_field(language, field)) or "").strip()
            if text:
                versions.setdefault(language, {})[field] = text
        return versions

    def preview_step(self, program: Program) -> Step:
        """An unsaved step with whatever content fields are valid, for the preview."""
        self.is_valid()
        data = {
            name: self.cleaned_data[name] for name in CONTENT_FIELDS if name in self.cleaned_data
        }
        return Step(program=program, versions=self.versions(), **data)


class PreviewForm(forms.Form):
    """Whom to render the preview for."""

    preview_customer = forms.IntegerField(min_value=1, label=gettext_lazy("Preview for customer #"))
    # Blank: the customer's own language (else the organization's), as a touch would use.
    preview_language = forms.ChoiceField(
        choices=[("", "The customer's"), *settings.LANGUAGES], required=False
    )


class UnsubscribeChoiceForm(forms.Form):
    """The channels a customer no longer wants to hear from us on."""

    channels = forms.MultipleChoiceField(
        choices=Channel.choices,
        widget=forms.CheckboxSelectMultiple,
        label=gettext_lazy("Stop contacting me by"),
        error_messages={
            "required": gettext_lazy("Tick at least one way we should stop contacting you.")
        },
    )


class AssignReplyForm(forms.Form):
    """Whose an unmatched SMS reply is: the customer's number (as in their page's address) or
    e-mail address."""

    customer = forms.CharField(
        max_length=254,
        help_text=gettext_lazy("The customer's number (from their page's address) or e-mail."),
    )

    def clean_customer(self) -> Customer:
        given = self.cleaned_data["customer"].strip()
        customers = Customer.objects.filter(deleted_at__isnull=True)
        if given.isdigit() and len(given) < 19:
            found = customers.filter(pk=int(given)).first()
        else:
            found = customers.filter(email=normalize_email(given)).order_by("id").first()
        if found is None:
            raise forms.ValidationError(gettext("No customer has that number or e-mail address."))
        return found
