"""Thin adapters from other apps' objects to the engine's typed inputs.

The engine takes plain frozen dataclasses; these functions read the attributes
the patients app (a patient and their insurance coverage) and the specialists
app (a practitioner, a specialty) expose, described as Protocols so that this
module imports neither app. Anything the records do not hold (the referral for
this visit, a pregnancy) is passed explicitly by the caller.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Protocol

from .engine import (
    HUNDRED,
    ZERO,
    ContractInput,
    Pathway,
    PatientInput,
    PractitionerInput,
    Sector,
    SpecialSituation,
    Specialty,
)


class PatientRecord(Protocol):
    reference: str
    birth_date: dt.date


class CoverageRecord(Protocol):
    """A patient's insurance over a period (patients.InsuranceCoverage)."""

    treating_doctor_declared: bool
    ald: bool
    c2s: bool
    mutuelle_name: str
    #: AMO + AMC in % of the base (100, 150, 200); None without a mutuelle.
    coverage_rate: Decimal | None
    #: Overruns covered beyond the base, in % of the base.
    optam_overrun_rate: Decimal | None
    non_optam_overrun_rate: Decimal | None
    contrat_responsable: bool


class PractitionerRecord(Protocol):
    sector: str


#: The specialists app stores sectors with its own codes.
SECTOR_CODES = {
    "1": Sector.SECTOR_1,
    "2-optam": Sector.SECTOR_2_OPTAM,
    "2": Sector.SECTOR_2,
    "nc": Sector.NON_CONVENTIONED,
    **{sector.value: sector for sector in Sector},
}

#: The specialists app's specialty codes that change a reimbursement rule.
SPECIALTY_CODES = {
    "general-practice": Specialty.GENERAL_PRACTICE,
    "psychiatry": Specialty.PSYCHIATRY,
    "gynaecology": Specialty.GYNAECOLOGY,
    "gynaecology-obstetrics": Specialty.GYNAECOLOGY,
    "ophthalmology": Specialty.OPHTHALMOLOGY,
    "stomatology": Specialty.STOMATOLOGY,
    "paediatrics": Specialty.PAEDIATRICS,
    "cardiology": Specialty.CARDIOLOGY,
    "dermatology": Specialty.DERMATOLOGY,
}


def practitioner_input(
    practitioner: PractitionerRecord, *, specialty_code: str
) -> PractitionerInput:
    """The practitioner as the engine sees them, for the specialty of this visit."""
    try:
        sector = SECTOR_CODES[str(practitioner.sector)]
    except KeyError as error:
        raise ValueError(f"Unknown sector {practitioner.sector!r}.") from error
    return PractitionerInput(
        sector=sector, specialty=SPECIALTY_CODES.get(specialty_code, Specialty.OTHER)
    )


def patient_input(
    patient: PatientRecord,
    *,
    coverage: CoverageRecord | None,
    referred: bool = False,
    consulting_treating_doctor: bool = False,
    act_related_to_ald: bool = False,
    pregnant_six_months_or_more: bool = False,
    seen_in_person_within_12_months: bool = False,
    special_situation: SpecialSituation = SpecialSituation.NONE,
    participation_paid_this_year: Decimal = ZERO,
) -> PatientInput:
    """The patient for one visit; the referral is a fact of the visit, not the file."""
    declared = bool(coverage and coverage.treating_doctor_declared)
    if declared and consulting_treating_doctor:
        pathway = Pathway.TREATING_DOCTOR
    elif declared and referred:
        pathway = Pathway.REFERRED
    else:
        pathway = Pathway.DIRECT
    has_ald = bool(coverage and coverage.ald)
    return PatientInput(
        birth_date=patient.birth_date,
        pathway=pathway,
        has_ald=has_ald,
        act_related_to_ald=has_ald and act_related_to_ald,
        c2s=bool(coverage and coverage.c2s),
        pregnant_six_months_or_more=pregnant_six_months_or_more,
        seen_in_person_within_12_months=seen_in_person_within_12_months,
        special_situation=special_situation,
        participation_paid_this_year=participation_paid_this_year,
    )


def contract_input(
    coverage: CoverageRecord | None, *, yearly_cap_remaining: Decimal | None = None
) -> ContractInput | None:
    """The mutuelle contract, or None when the patient has none on record."""
    if coverage is None:
        return None
    total = coverage.coverage_rate
    if total is None and coverage.optam_overrun_rate is not None:
        total = HUNDRED + coverage.optam_overrun_rate
    if total is None:
        return None
    non_optam = (
        None
        if coverage.non_optam_overrun_rate is None
        else HUNDRED + coverage.non_optam_overrun_rate
    )
    return ContractInput(
        coverage_percent=Decimal(total),
        responsible=coverage.contrat_responsable,
        non_optam_coverage_percent=non_optam,
        yearly_cap_remaining=yearly_cap_remaining,
        name=coverage.mutuelle_name,
    )
