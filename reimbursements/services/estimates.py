"""Estimates, and the acts recorded against the yearly participation cap."""

from __future__ import annotations

import dataclasses
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.db.models import Sum
from django.utils.translation import gettext as _

from conciergerie.accounts.models import User
from patients.models import Patient

from .. import tariffs
from ..engine import (
    ZERO,
    ActInput,
    ContractInput,
    ContributionKind,
    Estimate,
    EstimateInput,
    PatientInput,
    PractitionerInput,
    compute_estimate,
)
from ..models import Act, RecordedAct

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
