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


class ShareDocumentForm(forms.Form):
    file = forms.FileField(label=_("Document or picture"))
    title = forms.CharField(label=_("Title (optional)"), required=False, max_length=200)


class NotesForm(forms.Form):
    report = forms.CharField(
        label=_("Consultation report"),
        required=False,
        max_length=20000,
        widget=forms.Textarea(attrs={"rows": 8}),
    )
    prescription = forms.CharField(
        label=_("Prescription note"),
        required=False,
        max_length=5000,
        widget=forms.Textarea(attrs={"rows": 4}),
    )


class CodeForm(forms.Form):
    code = forms.RegexField(
        label=_("One-time code"),
        regex=r"^\s*\d{6}\s*$",
        error_messages={"invalid": _("The code has six digits.")},
        widget=forms.TextInput(
            attrs={"inputmode": "numeric", "autocomplete": "one-time-code"}
        ),
    )
