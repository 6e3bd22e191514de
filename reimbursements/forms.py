"""Portal forms (simulation, proof of payment) and the back-office steps of a claim."""

from decimal import Decimal
from typing import Any

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from billing.models import Invoice, Quote
from patients.models import Document

from .engine import (
    ActInput,
    ActKind,
    CareMode,
    ContractInput,
    Pathway,
    PatientInput,
    PractitionerInput,
    Sector,
    Specialty,
)
from .models import Act, Claim, ClaimDocument, SendingMethod


class DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(format="%Y-%m-%d", **kwargs)


class EstimateForm(forms.Form):
    act = forms.ChoiceField(label=_("Act"))
    performed_on = forms.DateField(
        label=_("Date of the visit"), widget=DateInput(), initial=timezone.localdate
    )
    fee = forms.DecimalField(
        label=_("Fee charged (€)"),
        min_value=Decimal(0),
        max_value=Decimal(5000),
        decimal_places=2,
        localize=True,
        widget=forms.TextInput(attrs={"inputmode": "decimal"}),
        help_text=_("The price announced by the practitioner, overrun included."),
    )
    sector = forms.ChoiceField(
        label=_("Practitioner's sector"),
        choices=Sector.choices,
        initial=Sector.SECTOR_1,
        help_text=_("Shown on the practitioner's page of the ameli directory."),
    )
    specialty = forms.ChoiceField(
        label=_("Specialty"),
        choices=Specialty.choices,
        initial=Specialty.GENERAL_PRACTICE,
    )
    mode = forms.ChoiceField(
        label=_("How the visit takes place"),
        choices=CareMode.choices,
        initial=CareMode.IN_PERSON,
        widget=forms.RadioSelect,
    )
    pathway = forms.ChoiceField(
        label=_("Coordinated care pathway"),
        choices=Pathway.choices,
        widget=forms.RadioSelect,
    )
    seen_in_person_within_12_months = forms.BooleanField(
        label=_("This practitioner saw me in person within the last 12 months"),
        required=False,
        help_text=_("Needed for a teleconsultation to be reimbursed."),
    )
    age = forms.IntegerField(label=_("Age of the patient"), min_value=0, max_value=125)
    act_related_to_ald = forms.BooleanField(
        label=_("The visit concerns my long-term illness (ALD)"), required=False
    )
    pregnant_six_months_or_more = forms.BooleanField(
        label=_("I am at least six months pregnant"), required=False
    )
    c2s = forms.BooleanField(
        label=_("I benefit from the Complémentaire santé solidaire (C2S)"),
        required=False,
    )
    participation_paid_this_year = forms.DecimalField(
        label=_("Participations forfaitaires already paid this year (€)"),
        min_value=Decimal(0),
        max_value=Decimal(1000),
        decimal_places=2,
        initial=Decimal(0),
        localize=True,
        widget=forms.TextInput(attrs={"inputmode": "decimal"}),
        help_text=_("Shown on your ameli account; they are capped each year."),
    )
    coverage_percent = forms.IntegerField(
        label=_("Mutuelle coverage (% of the base)"),
        min_value=0,
        max_value=1000,
        required=False,
        help_text=_(
            "For example 100, 150 or 200, as written in your table of benefits. "
            "Leave empty if you have no mutuelle."
        ),
    )
    non_optam_coverage_percent = forms.IntegerField(
        label=_("Coverage for practitioners without OPTAM (% of the base)"),
        min_value=0,
        max_value=1000,
        required=False,
        help_text=_("Leave empty if your contract gives a single figure."),
    )
    responsible = forms.BooleanField(
        label=_("My contract is a contrat responsable"),
        required=False,
        initial=True,
        help_text=_("Almost every mutuelle contract is."),
    )

    def __init__(
        self, *args: Any, participation_recorded: bool = False, **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        if participation_recorded:
            # The acts recorded in the patient's file are the truth: the figure
            # is read from them for the year of the visit, not typed.
            del self.fields["participation_paid_this_year"]
        self._acts = {
            act.code: act for act in Act.objects.filter(is_active=True).order_by("code")
        }
        act_field = self.fields["act"]
        assert isinstance(act_field, forms.ChoiceField)
        act_field.choices = [
            (code, f"{code} · {act.label}") for code, act in self._acts.items()
        ]

    def clean(self) -> dict[str, Any]:
        super().clean()
        cleaned = self.cleaned_data
        act = self._acts.get(cleaned.get("act", ""))
        if (
            act is not None
            and act.kind == ActKind.TELECONSULTATION
            and cleaned.get("mode") == CareMode.IN_PERSON
        ):
            self.add_error(
                "mode",
                forms.ValidationError(
                    _("This act is a teleconsultation: choose video or telephone."),
                    code="teleconsultation_mode",
                ),
            )
        if (
            cleaned.get("non_optam_coverage_percent") is not None
            and cleaned.get("coverage_percent") is None
        ):
            self.add_error(
                "coverage_percent",
                forms.ValidationError(
                    _("Give the coverage of your mutuelle first."),
                    code="coverage_required",
                ),
            )
        return cleaned

    def engine_inputs(self) -> dict[str, Any]:
        """The typed inputs of `services.estimate_for`, from the cleaned data."""
        data = self.cleaned_data
        contract = None
        if data["coverage_percent"] is not None:
            non_optam = data["non_optam_coverage_percent"]
            contract = ContractInput(
                coverage_percent=Decimal(data["coverage_percent"]),
                responsible=data["responsible"],
                non_optam_coverage_percent=None
                if non_optam is None
                else Decimal(non_optam),
            )
        return {
            "act": ActInput(
                code=data["act"],
                performed_on=data["performed_on"],
                fee=data["fee"],
                mode=CareMode(data["mode"]),
            ),
            "practitioner": PractitionerInput(
                sector=Sector(data["sector"]), specialty=Specialty(data["specialty"])
            ),
            "patient": PatientInput(
                age=data["age"],
                pathway=Pathway(data["pathway"]),
                has_ald=data["act_related_to_ald"],
                act_related_to_ald=data["act_related_to_ald"],
                c2s=data["c2s"],
                pregnant_six_months_or_more=data["pregnant_six_months_or_more"],
                seen_in_person_within_12_months=data["seen_in_person_within_12_months"],
                participation_paid_this_year=data.get(
                    "participation_paid_this_year", Decimal(0)
                ),
            ),
            "contract": contract,
        }


class PaymentProofForm(forms.Form):
    """The portal's proof of payment: a bank or payer statement showing the money."""

    file = forms.FileField(
        label=_("Proof of payment"),
        help_text=_(
            "Your bank statement or the payer's statement (décompte), as a PDF "
            "or a photo."
        ),
    )
    amount = forms.DecimalField(
        label=_("Amount received (€)"),
        required=False,
        min_value=Decimal("0.01"),
        max_value=Decimal(100000),
        decimal_places=2,
        localize=True,
        widget=forms.TextInput(attrs={"inputmode": "decimal"}),
    )
    received_on = forms.DateField(
        label=_("Date received"),
        required=False,
        widget=DateInput(),
    )


# --- Back-office: the steps of a claim ------------------------------------------------


class SendClaimForm(forms.Form):
    via = forms.ChoiceField(
        label=_("Sent by"), choices=SendingMethod.choices, widget=forms.RadioSelect
    )
    comment = forms.CharField(label=_("Comment"), required=False, max_length=500)


class AcknowledgeClaimForm(forms.Form):
    payer_reference = forms.CharField(
        label=_("Payer's file number"), required=False, max_length=64
    )
    comment = forms.CharField(label=_("Comment"), required=False, max_length=500)


class ClaimPaymentForm(forms.Form):
    amount = forms.DecimalField(
        label=_("Amount received (€)"),
        min_value=Decimal("0.01"),
        max_digits=10,
        decimal_places=2,
        localize=True,
    )
    final = forms.BooleanField(
        label=_("The payer says this payment settles the claim"),
        required=False,
        help_text=_("A shortfall is then flagged as a discrepancy."),
    )
    payer_reference = forms.CharField(
        label=_("Payer's file number"), required=False, max_length=64
    )
    comment = forms.CharField(label=_("Comment"), required=False, max_length=500)


class RejectClaimForm(forms.Form):
    reason = forms.CharField(
        label=_("Reason given by the payer"),
        max_length=1000,
        widget=forms.Textarea(attrs={"rows": 3}),
    )


class AppealClaimForm(forms.Form):
    comment = forms.CharField(
        label=_("Grounds of the appeal"),
        max_length=1000,
        widget=forms.Textarea(attrs={"rows": 3}),
    )


class CloseClaimForm(forms.Form):
    comment = forms.CharField(
        label=_("Why is it closed?"),
        required=False,
        max_length=1000,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("Needed unless the claim was paid in full."),
    )


class DocumentChoiceField(forms.ModelMultipleChoiceField):
    def label_from_instance(self, obj: Any) -> str:
        # The kind and dates only: titles and file names may say what the care was.
        day = obj.document_date or timezone.localdate(obj.created_at)
        return f"{obj.get_kind_display()} · {day:%d/%m/%Y}"


class AttachDocumentsForm(forms.Form):
    """Attach documents already in the patient's file, or file a scanned paper."""

    kind = forms.ChoiceField(label=_("Type"), choices=ClaimDocument.Kind.choices)
    documents = DocumentChoiceField(
        label=_("Documents of the patient's file"),
        queryset=Document.objects.none(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    file = forms.FileField(
        label=_("Or a new file"),
        required=False,
        help_text=_("It is filed in the patient's documents, encrypted."),
    )

    def __init__(self, *args: Any, claim: Claim, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["documents"]
        assert isinstance(field, forms.ModelMultipleChoiceField)
        field.queryset = Document.objects.filter(patient=claim.patient).exclude(
            claim_attachments__claim=claim
        )

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if not cleaned.get("documents") and not cleaned.get("file"):
            raise forms.ValidationError(
                _("Choose documents or a file."), code="nothing_to_attach"
            )
        return cleaned


class QuoteEstimateForm(EstimateForm):
    """The simulation, by the concierge, printed on a quote for the visit."""

    quote = forms.ModelChoiceField(
        label=_("Quote"),
        queryset=Quote.objects.none(),
        help_text=_("Draft or sent quotes; the estimate is printed on it."),
    )

    field_order = ["quote"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["quote"]
        assert isinstance(field, forms.ModelChoiceField)
        field.queryset = Quote.objects.filter(
            state__in=[Quote.State.DRAFT, Quote.State.SENT]
        ).select_related("customer")
        self.order_fields(["quote"])


class InvoiceEstimateForm(EstimateForm):
    """The simulation, by the concierge, printed on a draft invoice for the visit."""

    invoice = forms.ModelChoiceField(
        label=_("Invoice"),
        queryset=Invoice.objects.none(),
        help_text=_("Draft invoices; the estimate is printed on it when issued."),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["invoice"]
        assert isinstance(field, forms.ModelChoiceField)
        field.queryset = Invoice.objects.filter(
            state=Invoice.State.DRAFT
        ).select_related("customer")
        self.order_fields(["invoice"])
