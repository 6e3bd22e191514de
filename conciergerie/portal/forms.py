from django import forms
from django.utils.translation import gettext_lazy as _

from patients.forms import TimeInput
from patients.models import Patient


class NotificationPreferencesForm(forms.ModelForm):
    """How and when the file's reminders and messages reach the family."""

    class Meta:
        model = Patient
        fields = [
            "reminder_channel",
            "quiet_hours_start",
            "quiet_hours_end",
            "preferred_language",
        ]
        widgets = {
            "reminder_channel": forms.RadioSelect,
            "preferred_language": forms.RadioSelect,
            "quiet_hours_start": TimeInput(),
            "quiet_hours_end": TimeInput(),
        }
        labels = {
            "reminder_channel": _("Send my reminders by"),
            "quiet_hours_start": _("No SMS from"),
            "quiet_hours_end": _("No SMS until"),
            "preferred_language": _("Language of messages and of the portal"),
        }
        help_texts = {
            "quiet_hours_start": _(
                "We send no SMS between these two times; emails wait in your "
                "inbox. For example 21:00. Leave both empty for none."
            ),
            "quiet_hours_end": _("For example 08:00."),
        }

    def clean(self):
        cleaned = super().clean() or {}
        start = cleaned.get("quiet_hours_start")
        end = cleaned.get("quiet_hours_end")
        if (start is None) != (end is None):
            raise forms.ValidationError(
                _(
                    "Give both times of the quiet hours, or leave both empty to "
                    "receive messages at any time."
                ),
                code="quiet_hours_incomplete",
            )
        if start is not None and start == end:
            self.add_error(
                "quiet_hours_end",
                forms.ValidationError(
                    _("The end must differ from the start, e.g. 21:00 to 08:00."),
                    code="quiet_hours_empty",
                ),
            )
        return cleaned


class SwitchFileForm(forms.Form):
    reference = forms.CharField(max_length=8)
    next = forms.CharField(required=False, max_length=500)
