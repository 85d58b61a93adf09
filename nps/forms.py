"""Forms of the marketers' survey pages."""

from django import forms

from nps.models import Response, Survey


class SurveyForm(forms.ModelForm):
    """A survey's wording, its premium, the optional channel question, and whether it runs."""

    valid_days = forms.IntegerField(
        min_value=1, max_value=365, label="Invitations stay open (days)", initial=30
    )

    class Meta:
        model = Survey
        fields = [
            "name",
            "question_score",
            "question_why",
            "question_improve",
            "premium",
            "ask_preferred_channel",
            "is_active",
            "valid_days",
        ]
        labels = {
            "question_score": "Score question (0–10)",
            "question_why": "Why question",
            "question_improve": "Improvement question",
            "ask_preferred_channel": "Ask the preferred contact method",
            "is_active": "Active (invitations may be sent)",
        }


class VerbatimFilterForm(forms.Form):
    """Which verbatims to read: a category and words to look for."""

    category = forms.ChoiceField(
        choices=[("", "Every category"), *Response.Category.choices], required=False
    )
    q = forms.CharField(label="Search", max_length=100, required=False)
