"""The satisfaction survey's form: four questions, one minute."""

from django import forms
from django.utils.translation import gettext_lazy as _


def _scale(low: int, high: int) -> list[tuple[int, str]]:
    return [(value, str(value)) for value in range(low, high + 1)]


class SurveyForm(forms.Form):
    satisfaction = forms.TypedChoiceField(
        label=_("Overall, how satisfied are you with our service?"),
        help_text=_("1: very dissatisfied, 5: very satisfied."),
        choices=_scale(1, 5),
        coerce=int,
        widget=forms.RadioSelect,
        error_messages={"required": _("Choose a score from 1 to 5.")},
    )
    recommend = forms.TypedChoiceField(
        label=_("How likely are you to recommend us to a friend or relative?"),
        help_text=_("0: not at all likely, 10: extremely likely."),
        choices=_scale(0, 10),
        coerce=int,
        widget=forms.RadioSelect,
        error_messages={"required": _("Choose a score from 0 to 10.")},
    )
    practitioner_rating = forms.TypedChoiceField(
        label=_("How would you rate the practitioner?"),
        help_text=_("1: poor, 5: excellent. Leave empty if you prefer not to say."),
        choices=[("", "—"), *_scale(1, 5)],
        coerce=int,
        empty_value=None,
        required=False,
        widget=forms.RadioSelect,
    )
    comment = forms.CharField(
        label=_("Anything to add?"),
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text=_("Read by our team only, unless you allow its publication below."),
    )
    may_publish_comment = forms.BooleanField(
        label=_(
            "You may publish my comment, without my name, with my rating of the "
            "practitioner."
        ),
        required=False,
    )
