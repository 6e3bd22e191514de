"""Portal and back-office forms of appointments; services do the checking."""

from datetime import datetime, time, timedelta
from typing import cast

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from patients.models import Document, Patient
from specialists.availability import PARIS
from specialists.models import ConsultationType, PracticePlace, Practitioner

from .models import Pharmacy


class ReasonForm(forms.Form):
    reason = forms.CharField(
        label=_("Why?"),
        max_length=500,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("A few words help us re-plan (no medical details needed)."),
    )


class RescheduleForm(ReasonForm):
    starts_at = forms.DateTimeField(label=_("New time"), widget=forms.HiddenInput)

    def __init__(self, *args, slots=(), **kwargs) -> None:
        super().__init__(*args, **kwargs)
        choices = [
            (
                slot.starts_at.isoformat(),
                timezone.localtime(slot.starts_at).strftime("%d/%m/%Y %H:%M"),
            )
            for slot in slots
        ]
        self.fields["starts_at"] = forms.TypedChoiceField(
            label=_("New time"),
            choices=choices,
            coerce=datetime.fromisoformat,
            widget=forms.RadioSelect,
        )


class PatientField(forms.ModelChoiceField):
    def label_from_instance(self, obj) -> str:
        return obj.full_name


class PatientChoiceForm(forms.Form):
    """Which of the files this account manages the booking is for."""

    patient = PatientField(
        label=_("For whom?"), queryset=Patient.objects.none(), empty_label=None
    )

    def __init__(self, *args, patients=None, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        field = cast(forms.ModelChoiceField, self.fields["patient"])
        field.queryset = patients
        field.to_field_name = "reference"


class ShareForm(forms.Form):
    include_summary = forms.BooleanField(
        label=_("My medical summary (history, allergies, treatments)"),
        required=False,
        initial=True,
    )
    documents = forms.ModelMultipleChoiceField(
        label=_("Documents"),
        queryset=Document.objects.none(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    consent = forms.BooleanField(
        label=_(
            "I agree that this practitioner reads these data before my appointment."
        ),
        required=True,
    )

    def __init__(self, *args, documents=None, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        field = cast(forms.ModelMultipleChoiceField, self.fields["documents"])
        field.queryset = documents


class ChecklistForm(forms.Form):
    done = forms.MultipleChoiceField(
        label=_("Ready"), required=False, widget=forms.CheckboxSelectMultiple
    )

    def __init__(self, *args, items=(), **kwargs) -> None:
        super().__init__(*args, **kwargs)
        field = cast(forms.MultipleChoiceField, self.fields["done"])
        field.choices = [(item.code, item.text) for item in items]


class PharmacyForm(forms.ModelForm):
    class Meta:
        model = Pharmacy
        fields = ["name", "address", "postal_code", "city", "email", "phone"]


class PharmacyChoiceForm(forms.Form):
    pharmacy = forms.ModelChoiceField(
        label=_("Pharmacy"),
        queryset=Pharmacy.objects.filter(is_active=True),
        required=False,
        empty_label=_("— choose a pharmacy —"),
    )


class PrescriptionForm(forms.Form):
    document = forms.ModelChoiceField(
        label=_("Prescription"), queryset=Document.objects.none(), empty_label=None
    )

    def __init__(self, *args, documents=None, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        field = cast(forms.ModelChoiceField, self.fields["document"])
        field.queryset = documents


class ReportUploadForm(forms.Form):
    file = forms.FileField(
        label=_("Report (PDF or image)"),
        help_text=_("The file is encrypted and filed in the patient's record."),
    )


class WaitlistForm(forms.Form):
    not_after = forms.DateField(
        label=_("Only slots before"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
    )

    def cleaned_not_after(self) -> datetime | None:
        day = self.cleaned_data.get("not_after")
        if day is None:
            return None
        return datetime.combine(day + timedelta(days=1), time.min, tzinfo=PARIS)


# --- Back-office ---------------------------------------------------------------------


class AgendaForm(forms.Form):
    practitioner = forms.ModelChoiceField(
        label=_("Practitioner"),
        queryset=Practitioner.objects.filter(is_active=True),
    )
    day = forms.DateField(
        label=_("Day"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
    )
    view = forms.ChoiceField(
        label=_("View"),
        choices=[("day", _("Day")), ("week", _("Week"))],
        required=False,
    )


class BookOnBehalfForm(forms.Form):
    patient = forms.CharField(
        label=_("Patient reference"),
        max_length=12,
        help_text=_("P-XXXXXX, from the patient's file."),
    )
    practitioner = forms.ModelChoiceField(
        label=_("Practitioner"), queryset=Practitioner.objects.filter(is_active=True)
    )
    kind = forms.ChoiceField(
        label=_("Consultation type"), choices=ConsultationType.Kind.choices
    )
    starts_at = forms.DateTimeField(label=_("Start (Paris time)"))
    place = forms.ModelChoiceField(
        label=_("Place"), queryset=PracticePlace.objects.all(), required=False
    )
    care_request = forms.CharField(
        label=_("Care request"),
        max_length=12,
        required=False,
        help_text=_("D-XXXXX: the booking moves it to “appointment booked”."),
    )
    note = forms.CharField(
        label=_("Note for the concierge"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
    )

    def clean_care_request(self):
        from patients.models import CareRequest, normalise_care_request_reference

        value = self.cleaned_data.get("care_request")
        if not value:
            return None
        care_request = CareRequest.objects.filter(
            reference=normalise_care_request_reference(value)
        ).first()
        if care_request is None:
            raise forms.ValidationError(_("No care request has this reference."))
        return care_request

    def clean_patient(self) -> Patient:
        from patients.models import normalise_reference

        patient = Patient.objects.filter(
            reference=normalise_reference(self.cleaned_data["patient"])
        ).first()
        if patient is None:
            raise forms.ValidationError(_("No patient has this reference."))
        return patient


class AdminRescheduleForm(forms.Form):
    starts_at = forms.DateTimeField(label=_("New start (Paris time)"))
    reason = forms.CharField(
        label=_("Reason"), max_length=500, widget=forms.Textarea(attrs={"rows": 2})
    )


class AdminReasonForm(forms.Form):
    reason = forms.CharField(
        label=_("Reason"), max_length=500, widget=forms.Textarea(attrs={"rows": 2})
    )


class ProposeForm(forms.Form):
    patient = forms.CharField(label=_("Patient reference"), max_length=12)
    message = forms.CharField(
        label=_("Message to the patient"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
    )

    def clean_patient(self) -> Patient:
        from patients.models import normalise_reference

        patient = Patient.objects.filter(
            reference=normalise_reference(self.cleaned_data["patient"])
        ).first()
        if patient is None:
            raise forms.ValidationError(_("No patient has this reference."))
        return patient
