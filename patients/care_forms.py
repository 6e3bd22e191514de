"""Portal forms of care requests: the guided intake in two steps, messages, cancel.

Step one asks for whom, what kind of help and the need in the patient's words;
red flags there open the emergency path at once. Step two asks the questions of
the specialty (from the specialty catalogue), the preferences, and documents
(photos for dermatology).
"""

from datetime import date
from typing import Any, cast

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from .forms import DateInput
from .models import CareRequest, Patient
from .services import care_requests

MAX_ATTACHMENTS = 5
NOT_SURE = ""


def _choices_of(form: forms.BaseForm, name: str) -> forms.ChoiceField:
    return cast(forms.ChoiceField, form.fields[name])


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    """Several files in one input; each is checked by the document service."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("widget", MultipleFileInput(attrs={"accept": "image/*,.pdf"}))
        super().__init__(*args, **kwargs)

    def clean(self, data, initial=None):
        single = super().clean
        if isinstance(data, list | tuple):
            files = [single(item, initial) for item in data if item]
        else:
            files = [single(data, initial)] if data else []
        if len(files) > MAX_ATTACHMENTS:
            raise forms.ValidationError(
                _("Send at most %(max)d files.") % {"max": MAX_ATTACHMENTS},
                code="too_many_files",
            )
        return files


def _specialty_choices() -> list[tuple[str, Any]]:
    from specialists.models import Specialty

    return [(NOT_SURE, _("I don't know: suggest one"))] + [
        (specialty.code, specialty.label)
        for specialty in Specialty.objects.filter(is_active=True)
    ]


def _patient_label(patient: Patient, user) -> str:
    if patient.user_id == user.pk:
        return str(_("Me (%(name)s)")) % {"name": patient.full_name}
    return patient.full_name


class IntakeStartForm(forms.Form):
    """Step one: for whom, the kind of help, the need in the patient's words."""

    patient = forms.ChoiceField(label=_("For whom?"), widget=forms.RadioSelect)
    kind = forms.ChoiceField(
        label=_("What do you need?"),
        choices=CareRequest.Kind.choices,
        initial=CareRequest.Kind.SPECIALIST,
        widget=forms.RadioSelect,
    )
    need = forms.CharField(
        label=_("Describe your need in your own words"),
        max_length=4000,
        widget=forms.Textarea(attrs={"rows": 6}),
        help_text=_(
            "What is happening, since when, what worries you. If you are in danger, "
            "call 15 (or 112) now."
        ),
    )
    specialty = forms.ChoiceField(
        label=_("Which specialist?"),
        required=False,
        help_text=_("Leave “I don't know” and we suggest one from your words."),
    )

    def __init__(self, *args, files: list[Patient], user, hidden: bool = False, **kw):
        super().__init__(*args, **kw)
        self.managed_files = {str(patient.reference): patient for patient in files}
        _choices_of(self, "patient").choices = [
            (patient.reference, _patient_label(patient, user)) for patient in files
        ]
        if len(files) == 1:
            self.fields["patient"].initial = files[0].reference
        _choices_of(self, "specialty").choices = _specialty_choices()
        if hidden:
            for field in self.fields.values():
                field.widget = forms.HiddenInput()

    def clean_patient(self) -> Patient:
        return self.managed_files[str(self.cleaned_data["patient"])]


def question_field(question) -> forms.Field:
    """A form field for one intake question of the specialty catalogue."""
    kinds = question.AnswerType
    common = {"label": question.label, "required": question.required}
    if question.help_text:
        common["help_text"] = question.help_text
    if question.answer_type == kinds.LONG_TEXT:
        return forms.CharField(
            max_length=2000, widget=forms.Textarea(attrs={"rows": 3}), **common
        )
    if question.answer_type == kinds.YES_NO:
        return forms.ChoiceField(
            choices=[("yes", _("Yes")), ("no", _("No"))],
            widget=forms.RadioSelect,
            **common,
        )
    if question.answer_type == kinds.CHOICE:
        return forms.ChoiceField(
            choices=[(choice, choice) for choice in question.choices],
            widget=forms.RadioSelect,
            **common,
        )
    if question.answer_type == kinds.MULTIPLE_CHOICE:
        return forms.MultipleChoiceField(
            choices=[(choice, choice) for choice in question.choices],
            widget=forms.CheckboxSelectMultiple,
            **common,
        )
    if question.answer_type == kinds.NUMBER:
        return forms.IntegerField(min_value=0, max_value=100000, **common)
    if question.answer_type == kinds.DATE:
        return forms.DateField(widget=DateInput, **common)
    return forms.CharField(max_length=300, **common)


class IntakeDetailsForm(forms.Form):
    """Step two: the specialty's questions, the preferences, documents."""

    specialty = forms.ChoiceField(label=_("Specialist"), required=False)
    questions_for = forms.CharField(required=False, widget=forms.HiddenInput)
    child = forms.ChoiceField(label=_("Which child?"), required=False)
    place_postal_code = forms.CharField(
        label=_("Near which postal code?"), max_length=5, required=False
    )
    place_commune = forms.CharField(label=_("Commune"), max_length=120, required=False)
    radius_km = forms.TypedChoiceField(
        label=_("How far can you go?"),
        coerce=int,
        choices=[(km, f"{km} km") for km in (5, 10, 20, 50, 100)],
        initial=20,
    )
    mode = forms.ChoiceField(
        label=_("Consultation"),
        choices=CareRequest.Mode.choices,
        initial=CareRequest.Mode.IN_PERSON,
        widget=forms.RadioSelect,
    )
    available_from = forms.DateField(
        label=_("Available from"), required=False, widget=DateInput
    )
    available_until = forms.DateField(
        label=_("Needed by"), required=False, widget=DateInput
    )
    availability_notes = forms.CharField(
        label=_("Your availability"),
        max_length=300,
        required=False,
        help_text=_("E.g. mornings only, not on Wednesdays."),
    )
    languages = forms.MultipleChoiceField(
        label=_("Languages you speak (besides French)"),
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    practitioner_gender = forms.ChoiceField(
        label=_("Would you prefer…"),
        choices=CareRequest.GenderPreference.choices,
        required=False,
    )
    sector = forms.ChoiceField(
        label=_("Fees"), choices=CareRequest.SectorPreference.choices, required=False
    )
    max_budget = forms.DecimalField(
        label=_("Budget per consultation (€)"),
        min_value=0,
        max_digits=8,
        decimal_places=2,
        required=False,
    )
    wheelchair_access = forms.BooleanField(
        label=_("I need wheelchair access"), required=False
    )
    attachments = MultipleFileField(
        label=_("Documents (prescription, results…)"),
        required=False,
        help_text=_("PDF or pictures, 5 files at most; they are encrypted at once."),
    )

    def __init__(
        self,
        *args,
        specialty: str,
        patient: Patient,
        dependants: list[Patient],
        **kwargs,
    ):
        super().__init__(*args, **kwargs)
        from specialists.models import LANGUAGE_CHOICES, IntakeQuestion

        self.chosen_specialty = specialty
        _choices_of(self, "specialty").choices = _specialty_choices()[1:]
        self.fields["specialty"].initial = specialty
        self.fields["questions_for"].initial = specialty
        _choices_of(self, "languages").choices = [
            (code, label) for code, label in LANGUAGE_CHOICES if code != "fr"
        ]
        self.questions = list(
            IntakeQuestion.objects.filter(specialty__code=specialty).order_by(
                "sort_order", "pk"
            )
        )
        for question in self.questions:
            self.fields[f"q_{question.code}"] = question_field(question)
        self.asks_photos = any(q.code == "photos" for q in self.questions)
        if self.asks_photos:
            self.fields["attachments"].label = _("Photos of the area (recommended)")
            self.fields["attachments"].help_text = _(
                "Sharp photos in daylight, close and from further away; 5 at most."
            )
        self.needs_child = specialty == "paediatrics" and not patient.is_minor
        children = [child for child in dependants if child.is_minor]
        if self.needs_child:
            self.fields["child"].required = True
            _choices_of(self, "child").choices = [
                (child.reference, child.full_name) for child in children
            ]
            self.children = {child.reference: child for child in children}
        else:
            del self.fields["child"]
        self.fields["place_postal_code"].initial = patient.postal_code[:5]
        self.fields["place_commune"].initial = patient.city

    def question_fields(self):
        return [self[f"q_{question.code}"] for question in self.questions]

    def preference_fields(self):
        names = [
            "place_postal_code",
            "place_commune",
            "radius_km",
            "mode",
            "available_from",
            "available_until",
            "availability_notes",
            "languages",
            "practitioner_gender",
            "sector",
            "max_budget",
            "wheelchair_access",
        ]
        return [self[name] for name in names]

    def clean(self):
        data = super().clean() or {}
        start, end = data.get("available_from"), data.get("available_until")
        if start and end and end < start:
            self.add_error(
                "available_until",
                forms.ValidationError(
                    _("This date is before the first one."), code="invalid_period"
                ),
            )
        if end and end < timezone.localdate():
            self.add_error(
                "available_until",
                forms.ValidationError(_("This date is past."), code="date_in_past"),
            )
        return data

    def answers(self) -> dict:
        answers = {}
        for question in self.questions:
            value = self.cleaned_data.get(f"q_{question.code}")
            if value in (None, "", []):
                continue
            if isinstance(value, date):
                value = value.isoformat()
            answers[question.code] = {"question": question.text, "answer": value}
        return answers

    def preferences(self) -> dict:
        data = self.cleaned_data
        return {
            name: data.get(name)
            for name in care_requests.PREFERENCE_FIELDS
            if name in data and data.get(name) not in (None,)
        } | {
            "languages": data.get("languages") or [],
            "practitioner_gender": data.get("practitioner_gender") or "",
            "sector": data.get("sector") or "",
            "place_postal_code": data.get("place_postal_code") or "",
            "place_commune": data.get("place_commune") or "",
            "availability_notes": data.get("availability_notes") or "",
        }

    def chosen_child(self) -> Patient | None:
        if not self.needs_child:
            return None
        return self.children.get(str(self.cleaned_data.get("child") or ""))


class MessageForm(forms.Form):
    body = forms.CharField(
        label=_("Your message"),
        max_length=5000,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text=_("Your concierge answers within a working day."),
    )


class CancelRequestForm(forms.Form):
    reason = forms.CharField(
        label=_("Why do you cancel?"),
        max_length=1000,
        widget=forms.Textarea(attrs={"rows": 2}),
    )
