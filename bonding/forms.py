"""Forms of the project-wide pages."""

from django import forms

from bonding.models import ApiToken


class RevokeTokenForm(forms.Form):
    """Which of the user's own API tokens to revoke."""

    token = forms.ModelChoiceField(queryset=ApiToken.objects.none())

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["token"].queryset = ApiToken.objects.filter(user=user)
