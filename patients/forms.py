"""Portal forms of the patient file, in plain accessible HTML.

Django renders each field with its label, its help text and its errors linked by
`aria-describedby` and `aria-invalid`; the templates add an error summary.
"""

from decimal import Decimal

from django import forms
from django.utils.text import capfirst
from django.utils.translation import gettext_lazy as _
from phonenumber_field.formfields import PhoneNumberField

from .models import Document, Guardianship, InsuranceCoverage, MedicalProfile, Patient
from .services import IDENTITY_FIELDS
from .validators import normalise_nir


class DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self, attrs=None):
        super().__init__(attrs, format="%Y-%m-%d")


class TimeInput(forms.TimeInput):
    input_type = "time"

    def __init__(self, attrs=None):
        super().__init__(attrs, format="%H:%M")


AUTOCOMPLETE = {
    "last_name": "family-name",
    "first_names": "given-name",
    "birth_date": "bday",
    "sex": "sex",
    "email": "email",
    "mobile_phone": "tel",
    "address_line": "address-line1",
    "address_complement": "address-line2",
    "postal_code": "postal-code",
    "city": "address-level2",
    "country": "country",
}


class NirField(forms.CharField):
    """The NIR as people type it (spaces, dots); normalised before the model's
    checks of length, key and consistency with sex and birth date."""

    def __init__(self, **kwargs):
        kwargs.setdefault("label", _("Social security number"))
        kwargs.setdefault("help_text", _("15 digits, as on the carte Vitale."))
        super().__init__(max_length=25, required=False, **kwargs)

    def to_python(self, value):
        return normalise_nir(super().to_python(value))


class IdentityForm(forms.ModelForm):
    """Identity, contact and reminder preferences (rectifiable at any time)."""

    required_css_class = "required"

    nir = NirField(
        widget=forms.TextInput(
            attrs={"inputmode": "numeric", "spellcheck": "false", "autocomplete": "off"}
        )
    )

    mobile_phone = PhoneNumberField(
        label=capfirst(_("Mobile phone")),
        required=False,
        region="FR",
        help_text=_("For reminders by SMS, e.g. 06 12 34 56 78."),
        widget=forms.TextInput(attrs={"type": "tel"}),
    )

    class Meta:
        model = Patient
        fields = IDENTITY_FIELDS
        widgets = {
            "birth_date": DateInput(),
            "quiet_hours_start": TimeInput(),
            "quiet_hours_end": TimeInput(),
            "nir": forms.TextInput(
                attrs={"inputmode": "numeric", "spellcheck": "false"}
            ),
            "country": forms.TextInput(attrs={"maxlength": 2, "size": 2}),
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name, token in AUTOCOMPLETE.items():
            if name in self.fields:
                self.fields[name].widget.attrs.setdefault("autocomplete", token)
        if self.instance.pk and self.instance.nir:
            self.initial["nir"] = self.instance.nir


class RegistrationForm(IdentityForm):
    health_data_consent = forms.BooleanField(
        label=_(
            "I consent to the processing of my health data by the concierge service, "
            "as described in the privacy notice."
        ),
        help_text=_(
            "Needed to keep your medical profile and documents and to organise your "
            "care. You can withdraw it at any time."
        ),
        required=False,
    )
    confirm_duplicate = forms.BooleanField(
        label=capfirst(_("It is another person: create a new file")), required=False
    )


class DependantForm(RegistrationForm):
    relationship = forms.ChoiceField(
        label=capfirst(_("You are their")), choices=Guardianship.Relationship.choices
    )

    field_order = ["relationship"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["health_data_consent"].label = _(
            "As their legal representative, I consent to the processing of their "
            "health data, as described in the privacy notice."
        )


class InsuranceForm(forms.ModelForm):
    required_css_class = "required"

    class Meta:
        model = InsuranceCoverage
        fields = [
            "regime",
            "beneficiary_status",
            "fund_name",
            "treating_doctor_declared",
            "treating_doctor_name",
            "ald",
            "ald_label",
            "c2s",
            "mutuelle_name",
            "mutuelle_contract_number",
            "mutuelle_member_number",
            "contrat_responsable",
            "coverage_rate",
            "optam_overrun_rate",
            "non_optam_overrun_rate",
            "yearly_cap_consultations",
            "yearly_cap_overruns",
            "yearly_cap_total",
            "valid_from",
            "valid_to",
        ]
        widgets = {"valid_from": DateInput(), "valid_to": DateInput()}


class MedicalProfileForm(forms.ModelForm):
    required_css_class = "required"

    height_cm = forms.IntegerField(
        label=capfirst(_("height (cm)")), required=False, min_value=30, max_value=250
    )
    weight_kg = forms.DecimalField(
        label=capfirst(_("weight (kg)")),
        required=False,
        min_value=Decimal("1"),
        max_value=Decimal("400"),
        decimal_places=1,
    )
    blood_group = forms.ChoiceField(
        label=capfirst(_("blood group")),
        required=False,
        choices=[("", _("unknown"))]
        + [(g, g) for g in ("A+", "A-", "B+", "B-", "AB+", "AB-", "O+", "O-")],
    )

    class Meta:
        model = MedicalProfile
        fields = [
            "medical_history",
            "allergies",
            "current_treatments",
            "specific_needs",
        ]
        widgets = {
            name: forms.Textarea(attrs={"rows": 4})
            for name in (
                "medical_history",
                "allergies",
                "current_treatments",
                "specific_needs",
            )
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        measurements = self.instance.measurements or {}
        for name in ("height_cm", "weight_kg", "blood_group"):
            self.initial.setdefault(name, measurements.get(name))

    def profile_data(self) -> dict:
        data = {name: self.cleaned_data[name] for name in self._meta.fields}
        measurements = {
            name: self.cleaned_data[name]
            for name in ("height_cm", "weight_kg", "blood_group")
            if self.cleaned_data.get(name) not in (None, "")
        }
        if "weight_kg" in measurements:
            measurements["weight_kg"] = str(measurements["weight_kg"])
        data["measurements"] = measurements
        return data


class DocumentUploadForm(forms.Form):
    required_css_class = "required"

    file = forms.FileField(
        label=capfirst(_("file")),
        help_text=_("PDF or picture (JPEG, PNG, HEIC…), 20 MB at most."),
        widget=forms.ClearableFileInput(
            attrs={"accept": ".pdf,.jpg,.jpeg,.png,.webp,.heic,.tif,.tiff,.dcm"}
        ),
    )
    kind = forms.ChoiceField(label=capfirst(_("type")), choices=Document.Kind.choices)
    title = forms.CharField(
        label=capfirst(_("title")),
        max_length=200,
        required=False,
        help_text=_("E.g. Blood test of March; the file name is used if empty."),
    )
    document_date = forms.DateField(
        label=capfirst(_("date of the document")), required=False, widget=DateInput()
    )
    source = forms.CharField(
        label=capfirst(_("source")),
        max_length=200,
        required=False,
        help_text=_("Who issued it: laboratory, practitioner, hospital…"),
    )


class ShareForm(forms.Form):
    required_css_class = "required"

    email = forms.EmailField(
        label=capfirst(_("practitioner's email")),
        help_text=_("The address of their account with us."),
    )
    document = forms.ModelChoiceField(
        label=capfirst(_("what to share")),
        queryset=Document.objects.none(),
        required=False,
        empty_label=capfirst(_("my whole medical file (profile and every document)")),
    )
    expires_on = forms.DateField(
        label=capfirst(_("until")),
        required=False,
        widget=DateInput(),
        help_text=_("Optional: the sharing stops by itself at the end of this day."),
    )

    def __init__(self, *args, patient: Patient, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["document"].queryset = Document.objects.filter(patient=patient)


class ConsentForm(forms.Form):
    required_css_class = "required"

    agree = forms.BooleanField(
        label=_(
            "I consent to the processing of health data by the concierge service, as "
            "described in the privacy notice."
        )
    )


class ErasureForm(forms.Form):
    required_css_class = "required"

    message = forms.CharField(
        label=capfirst(_("your message (optional)")),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
    )
    confirm = forms.BooleanField(
        label=_(
            "I understand that my account will be closed and that my medical record "
            "is kept for the legal retention period."
        )
    )
