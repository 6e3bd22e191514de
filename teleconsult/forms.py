import json

from django import forms
from django.utils.translation import gettext_lazy as _


class SupportTicketForm(forms.Form):
    message = forms.CharField(
        label=_("What is happening? (optional)"),
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3}),
    )
    check_results = forms.CharField(widget=forms.HiddenInput, required=False)

    def clean_check_results(self) -> dict:
        raw = self.cleaned_data["check_results"] or "{}"
        try:
            value = json.loads(raw)
        except ValueError as error:
            raise forms.ValidationError(
                _("The device check results are unreadable."), code="invalid"
            ) from error
        return value if isinstance(value, dict) else {}
