"""Forms of the marketers' survey pages."""

from collections.abc import Iterable

from django import forms
from django.utils import translation
from django.utils.translation import gettext, gettext_lazy

from nps.models import Response, Survey, Theme


class SurveyForm(forms.ModelForm):
    """A survey's wording, its premium, the optional channel question, and whether it runs."""

    valid_days = forms.IntegerField(
        min_value=1, max_value=365, label=gettext_lazy("Invitations stay open (days)"), initial=30
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
    """Which verbatims to read: a category, a theme and words to look for."""

    category = forms.ChoiceField(
        label=gettext_lazy("Category"),
        choices=[("", gettext_lazy("Every category")), *Response.Category.choices],
        required=False,
    )
    theme = forms.TypedChoiceField(
        label=gettext_lazy("Theme"), coerce=int, empty_value=None, required=False
    )
    q = forms.CharField(label=gettext_lazy("Search"), max_length=100, required=False)

    def __init__(self, *args, themes: Iterable[Theme] = (), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["theme"].choices = [
            ("", gettext("Every theme")),
            *((theme.pk, f"{theme.name} ({language_name(theme.language)})") for theme in themes),
        ]


def language_name(code: str) -> str:
    """A theme's language as its reader says it ("Deutsch" is "German" in English)."""
    try:
        return translation.get_language_info(code)["name_translated"]
    except KeyError:
        return code


class ThemeRenameForm(forms.Form):
    """A marketer's name for a theme."""

    name = forms.CharField(max_length=120)


class ThemeMergeForm(forms.Form):
    """The theme another one is folded into."""

    into = forms.ModelChoiceField(
        queryset=Theme.objects.filter(is_current=True),
        error_messages={"invalid_choice": "Choose a current theme to merge into."},
    )
