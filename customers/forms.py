"""Forms of the customer pages; validation lives in the models and services they call."""

import zoneinfo
from decimal import Decimal

from django import forms
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MinValueValidator
from django.utils.translation import gettext, gettext_lazy

from customers.contact import normalize_email, normalize_phone
from customers.filters import owners
from customers.models import (
    Account,
    Audience,
    Complaint,
    Contract,
    Customer,
    Interaction,
    Purchase,
    Referral,
    Relationship,
    Reward,
    RewardRule,
    Tier,
)

TIME_ZONES = [("", "The organization's time zone")] + [
    (name, name) for name in sorted(zoneinfo.available_timezones()) if "/" in name
]


class AudienceFields(forms.Form):
    """Who a program or an event is for, by audience and relationship (none ticked: everyone);
    mixed into their forms, whose models store both as lists."""

    audiences = forms.MultipleChoiceField(
        choices=Audience.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=gettext_lazy("None ticked means every audience."),
    )
    relationships = forms.MultipleChoiceField(
        choices=Relationship.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=gettext_lazy("None ticked means every relationship."),
    )


class DateInput(forms.DateInput):
    input_type = "date"


class DateTimeInput(forms.DateTimeInput):
    input_type = "datetime-local"

    def __init__(self, **kwargs):
        super().__init__(format="%Y-%m-%dT%H:%M", **kwargs)


class CustomerForm(forms.ModelForm):
    """Create or edit a customer; e-mail and phone are normalised before they are checked."""

    timezone = forms.ChoiceField(
        choices=TIME_ZONES, required=False, label=gettext_lazy("Time zone")
    )

    class Meta:
        model = Customer
        fields = [
            "first_name",
            "last_name",
            "email",
            "phone",
            "account",
            "audience",
            "relationship",
            "partner_kind",
            "owner",
            "timezone",
            "preferred_channel",
            "language",
            "consent_email",
            "consent_sms",
            "consent_phone",
            "consent_letter",
            "estimated_wallet",
            "postal_address",
            "external_id",
        ]
        widgets = {"postal_address": forms.Textarea(attrs={"rows": 3})}
        labels = {
            "consent_email": "May e-mail",
            "consent_sms": "May text (SMS)",
            "consent_phone": "May call",
            "consent_letter": "May write letters",
            "external_id": "External ID (for sync)",
        }

    def __init__(self, *args, may_assign_owner: bool, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["owner"].queryset = owners()
        if not may_assign_owner:
            # Account managers own what they create; only marketers and admins hand customers on.
            del self.fields["owner"]

    def clean_email(self) -> str:
        return normalize_email(self.cleaned_data.get("email", ""))

    def clean_phone(self) -> str:
        return normalize_phone(self.cleaned_data.get("phone", ""), region=settings.PHONE_REGION)

    def clean_external_id(self) -> str | None:
        return self.cleaned_data.get("external_id") or None


class AccountForm(forms.ModelForm):
    """Create or edit an account (a company)."""

    website = forms.URLField(required=False, assume_scheme="https")

    class Meta:
        model = Account
        fields = ["name", "website", "industry", "owner"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["owner"].queryset = owners()


class InteractionForm(forms.ModelForm):
    """Log a call, meeting or message in a few keystrokes."""

    class Meta:
        model = Interaction
        fields = [
            "channel",
            "direction",
            "summary",
            "sentiment",
            "notes",
            "occurred_at",
            "follow_up_on",
        ]
        widgets = {
            "notes": forms.Textarea(attrs={"rows": 2}),
            "occurred_at": DateTimeInput(),
            "follow_up_on": DateInput(),
        }
        labels = {"occurred_at": "When (blank: now)", "follow_up_on": "Follow up on"}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # Blank means now: no pre-filled time that goes stale while the page stays open.
        self.fields["occurred_at"].required = False
        self.fields["occurred_at"].initial = None
        self.fields["occurred_at"].show_hidden_initial = False


class ComplaintForm(forms.ModelForm):
    """Open a complaint."""

    class Meta:
        model = Complaint
        fields = ["category", "severity", "description"]
        widgets = {"description": forms.Textarea(attrs={"rows": 2})}


class ResolveComplaintForm(forms.Form):
    """Close a complaint with what was done."""

    resolution = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), max_length=2000)


class PurchaseForm(forms.ModelForm):
    """Add a purchase by hand (most arrive through sync)."""

    class Meta:
        model = Purchase
        fields = ["amount", "currency", "purchased_on", "product_category"]
        widgets = {"purchased_on": DateInput()}


class ContractForm(forms.ModelForm):
    """Add a contract."""

    class Meta:
        model = Contract
        fields = ["title", "starts_on", "ends_on", "value"]
        widgets = {"starts_on": DateInput(), "ends_on": DateInput()}

    def clean(self):
        cleaned = super().clean()
        starts, ends = cleaned.get("starts_on"), cleaned.get("ends_on")
        if starts and ends and ends < starts:
            self.add_error("ends_on", gettext("A contract cannot end before it starts."))
        return cleaned


class ReferralForm(forms.ModelForm):
    """Record that this customer referred someone."""

    class Meta:
        model = Referral
        fields = ["referred_name", "referred_email"]

    def clean(self):
        cleaned = super().clean()
        if not (cleaned.get("referred_name") or cleaned.get("referred_email")):
            raise ValidationError(gettext("Give the referred person's name or e-mail."))
        return cleaned


class RewardForm(forms.ModelForm):
    """Grant a reward: a gift, discount, trial or points, with why (an account manager's is
    goodwill, within the limit marketers set)."""

    class Meta:
        model = Reward
        fields = ["kind", "unit", "value", "cause", "reason"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["cause"].required = False
        self.fields["cause"].help_text = "Left empty: goodwill from an account manager."
        self.fields["value"].validators.append(MinValueValidator(Decimal(0)))
        self.fields["unit"].required = False

    def clean_unit(self) -> str:
        return self.cleaned_data.get("unit") or Reward.Unit.POINTS


class RedeemForm(forms.Form):
    """Spend from the customer's reward balance (marketers)."""

    unit = forms.ChoiceField(choices=Reward.Unit.choices, initial=Reward.Unit.POINTS)
    value = forms.DecimalField(
        max_digits=10, decimal_places=2, min_value=Decimal("0.01"), label=gettext_lazy("Amount")
    )
    reason = forms.CharField(max_length=200)


class TierForm(forms.Form):
    """Move a customer on the ladder by hand, with a reason."""

    tier = forms.ModelChoiceField(queryset=Tier.objects.all(), empty_label=None)
    reason = forms.CharField(max_length=300)


class RungChoiceForm(forms.Form):
    """The rung of the ladder a ladder-page action is about."""

    tier = forms.ModelChoiceField(queryset=Tier.objects.all())


class MergeForm(forms.Form):
    """Which customer survives a merge and which is merged into it."""

    survivor = forms.ModelChoiceField(queryset=Customer.objects.filter(deleted_at__isnull=True))
    merged = forms.ModelChoiceField(queryset=Customer.objects.all())


class TierEditForm(forms.ModelForm):
    """Rename, recolour or re-describe a rung of the ladder."""

    class Meta:
        model = Tier
        fields = ["rank", "name", "slug", "colour", "description", "review_days"]
        widgets = {
            "colour": forms.TextInput(attrs={"type": "color"}),
            "description": forms.TextInput(),
        }


class RewardRuleForm(forms.ModelForm):
    """An organization-wide reward rule: what an event earns (a step's is set on the step)."""

    class Meta:
        model = RewardRule
        fields = ["event", "value", "unit", "active"]
        labels = {"active": "Granting"}

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["event"].choices = [
            (event.value, event.label)
            for event in RewardRule.Event
            if event != RewardRule.Event.STEP_SENT
        ]
        self.fields["value"].validators.append(MinValueValidator(Decimal("0.01")))
        if not self.instance.pk:
            self.initial.setdefault("active", True)


class GoodwillLimitForm(forms.Form):
    """The organization's goodwill limit for account managers."""

    goodwill_limit = forms.DecimalField(
        min_value=0,
        max_digits=10,
        decimal_places=2,
        label="Goodwill an account manager grants at most",
    )
