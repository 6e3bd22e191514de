"""Estimates, and the acts recorded against the yearly participation cap."""

from __future__ import annotations

import dataclasses
import datetime as dt
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.db.models import Sum
from django.utils import translation
from django.utils.translation import gettext as _

from conciergerie.accounts.models import User
from patients.models import Patient

from .. import tariffs
from ..adapters import contract_input, patient_input, practitioner_input
from ..engine import (
    GRID_OF_SECTOR,
    ZERO,
    ActInput,
    CareMode,
    ContractInput,
    ContributionKind,
    Estimate,
    EstimateInput,
    Pathway,
    PatientInput,
    PractitionerInput,
    TariffGrid,
    compute_estimate,
)
from ..models import Act, InvoiceEstimate, RecordedAct

# --- Estimates ----------------------------------------------------------------------


def estimate_for(
    *,
    act: ActInput,
    practitioner: PractitionerInput,
    patient: PatientInput,
    contract: ContractInput | None = None,
) -> Estimate:
    """Estimate one act with the tariffs, rates and thresholds in force on its date."""
    rules = tariffs.rules_for(
        code=act.code, sector=practitioner.sector, on=act.performed_on
    )
    return compute_estimate(
        EstimateInput(
            act=act, practitioner=practitioner, patient=patient, contract=contract
        ),
        rules,
    )


def participation_paid(
    *,
    patient: Patient,
    year: int,
    kind: ContributionKind = ContributionKind.PARTICIPATION_FORFAITAIRE,
) -> Decimal:
    """The flat contributions already deducted for the patient in a calendar year."""
    total = (
        RecordedAct.objects.for_patient_in_year(patient, year)
        .filter(contribution_kind=kind)
        .aggregate(total=Sum("participation"))["total"]
    )
    return total or ZERO


def _lock_patient_year(patient: Patient, year: int) -> None:
    # Two acts recorded at once must not both see room under the yearly cap: a
    # transaction-scoped advisory lock serialises them per patient and year.
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_advisory_xact_lock(hashtext(%s))",
            [f"reimbursements.participation:{patient.pk}:{year}"],
        )


@transaction.atomic
def record_act(
    *,
    patient: Patient,
    act: ActInput,
    practitioner: PractitionerInput,
    situation: PatientInput,
    contract: ContractInput | None = None,
    by: User | None = None,
) -> tuple[RecordedAct, Estimate]:
    """Record an act the patient received, its participation counted within the cap.

    `situation` is the patient as the engine sees them for this visit (pathway,
    ALD, age); the participation already paid is read from the recorded acts,
    whatever the caller says.
    """
    if patient is None or patient._state.adding:
        raise ValidationError(_("A patient file is required."), code="patient_required")
    year = act.performed_on.year
    _lock_patient_year(patient, year)
    act_row = Act.objects.filter(code=act.code).first()
    rules = tariffs.rules_for(
        code=act.code, sector=practitioner.sector, on=act.performed_on
    )
    kind = rules.contribution.kind if rules.contribution else ""
    paid = (
        participation_paid(patient=patient, year=year, kind=ContributionKind(kind))
        if kind
        else ZERO
    )
    situation = dataclasses.replace(situation, participation_paid_this_year=paid)
    estimate = compute_estimate(
        EstimateInput(
            act=act, practitioner=practitioner, patient=situation, contract=contract
        ),
        rules,
    )
    recorded = RecordedAct(
        patient=patient,
        act=act_row,
        performed_on=act.performed_on,
        sector=practitioner.sector,
        fee=estimate.fee,
        base=estimate.base,
        amo=estimate.amo,
        amc=estimate.amc,
        out_of_pocket=estimate.out_of_pocket,
        contribution_kind=kind,
        participation=estimate.participation,
        recorded_by=by,
    )
    recorded.full_clean()
    recorded.save()
    return recorded, estimate


@transaction.atomic
def estimate_quote(
    *,
    quote,
    act: ActInput,
    practitioner: PractitionerInput,
    patient: PatientInput,
    contract: ContractInput | None = None,
) -> Estimate:
    """Estimate the visit a quote is for and print what will be paid back on it.

    The participation forfaitaire already paid is read from the acts recorded
    for the quote's patient. What the payers reimburse cannot exceed the quote.
    """
    from billing import services as billing_services
    from billing.models import Quote

    quote = Quote.objects.select_for_update().get(pk=quote.pk)
    if quote.state not in (Quote.State.DRAFT, Quote.State.SENT):
        raise ValidationError(
            _("The customer has already answered this quote."), code="quote_decided"
        )
    if quote.patient is not None:
        patient = dataclasses.replace(
            patient,
            participation_paid_this_year=participation_paid(
                patient=quote.patient, year=act.performed_on.year
            ),
        )
    estimate = estimate_for(
        act=act, practitioner=practitioner, patient=patient, contract=contract
    )
    billing_services.record_reimbursement_estimate(
        quote=quote, amount=min(estimate.total_reimbursed, quote.total)
    )
    return estimate


@transaction.atomic
def estimate_invoice(
    *,
    invoice,
    act: ActInput,
    practitioner: PractitionerInput,
    patient: PatientInput,
    contract: ContractInput | None = None,
    by: User | None = None,
) -> InvoiceEstimate:
    """Print on a draft invoice what each payer should pay back and what is left.

    Only a draft takes an estimate: an issued invoice is a legal document whose
    copies must read the same. The participation forfaitaire already paid comes
    from the acts recorded for the invoice's patient; the explanation is written
    in the language the invoice is printed in.
    """
    from billing import pdf as billing_pdf
    from billing.models import Invoice

    invoice = Invoice.objects.select_for_update().get(pk=invoice.pk)
    if invoice.state != Invoice.State.DRAFT:
        raise ValidationError(
            _("An issued invoice can no longer change."), code="invoice_issued"
        )
    if invoice.patient is not None:
        patient = dataclasses.replace(
            patient,
            participation_paid_this_year=participation_paid(
                patient=invoice.patient, year=act.performed_on.year
            ),
        )
    language = billing_pdf.document_language(invoice)
    with translation.override(language):
        estimate = estimate_for(
            act=act, practitioner=practitioner, patient=patient, contract=contract
        )
        lines = [
            {
                "text": str(line.text),
                "amount": None if line.amount is None else str(line.amount),
            }
            for line in estimate.lines
        ]
    # The payers never pay back more than the invoice asks of the patient.
    reimbursed = min(estimate.total_reimbursed, invoice.total)
    amc = min(estimate.amc, max(reimbursed - estimate.amo, ZERO))
    amo = reimbursed - amc
    row, _created = InvoiceEstimate.objects.update_or_create(
        invoice=invoice,
        defaults={
            "act_code": estimate.act_code,
            "performed_on": act.performed_on,
            "fee": estimate.fee,
            "base": estimate.base,
            "amo": amo,
            "amc": amc,
            "out_of_pocket": max(invoice.total - reimbursed, ZERO),
            "participation": estimate.participation,
            "lines": lines,
            "flags": sorted(str(flag) for flag in estimate.flags),
            "language": language,
            "estimated_by": by,
        },
    )
    return row


@dataclasses.dataclass(frozen=True)
class BookingEstimate:
    """What a patient choosing a slot reads: the split, and on which assumptions."""

    estimate: Estimate
    with_file: bool
    with_mutuelle: bool


#: The consultation an in-person first visit is billed as, by specialty code of
#: the directory; other specialties bill the specialist consultation.
BOOKING_ACTS = {"general-practice": "G", "psychiatry": "CNPSY", "neurology": "CNPSY"}
#: Teleconsultations of a general practitioner in sector 1 or OPTAM.
GP_TELECONSULTATION = "TCG"
#: An adult of no particular situation, when nobody's file is at hand.
ANONYMOUS_AGE = 30


def estimate_booking(
    *,
    practitioner,
    patient: Patient | None,
    on: dt.date,
    teleconsultation: bool = False,
) -> BookingEstimate | None:
    """The split of a first visit with this practitioner, before it is booked.

    The fee is the practitioner's (the negotiated rate when there is one), the
    sector theirs; the patient's coverage, mutuelle and participations already
    paid come from their file. A declared médecin traitant is taken to have
    referred the patient (the concierge asks for the referral); without a file
    the figures are an adult's in the pathway, without mutuelle. None when the
    visit cannot be estimated (no fee, not a physician, no tariff).
    """
    fee = practitioner.effective_fee
    if fee is None or practitioner.profession != "physician":
        return None
    codes = [specialty.code for specialty in practitioner.specialties.all()]
    specialty_code = codes[0] if codes else "general-practice"
    try:
        engine_practitioner = practitioner_input(
            practitioner, specialty_code=specialty_code
        )
    except ValueError:
        return None
    code = BOOKING_ACTS.get(specialty_code, "CS")
    mode = CareMode.IN_PERSON
    if teleconsultation:
        mode = CareMode.VIDEO
        if code == "G" and GRID_OF_SECTOR[engine_practitioner.sector] == (
            TariffGrid.OPTAM
        ):
            code = GP_TELECONSULTATION
    coverage = patient.current_insurance(on) if patient is not None else None
    try:
        if patient is not None:
            situation = patient_input(
                patient,
                coverage=coverage,
                referred=True,
                participation_paid_this_year=participation_paid(
                    patient=patient, year=on.year
                ),
            )
        else:
            situation = PatientInput(age=ANONYMOUS_AGE, pathway=Pathway.REFERRED)
        contract = contract_input(coverage)
        estimate = estimate_for(
            act=ActInput(code=code, performed_on=on, fee=fee, mode=mode),
            practitioner=engine_practitioner,
            patient=situation,
            contract=contract,
        )
    except (ValidationError, ValueError):
        return None
    return BookingEstimate(
        estimate=estimate,
        with_file=patient is not None,
        with_mutuelle=contract is not None,
    )
