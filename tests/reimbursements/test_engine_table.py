"""The estimate engine on cases whose answers were computed by hand.

Each case goes through `estimate_for`, so the tariff rows in force on the act's
date are selected from the reference data, then split by the pure engine. Every
figure is derived in the comment beside it (B = base, r = rate, PF =
participation forfaitaire, X = mutuelle coverage in % of the base).
"""

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal as D

import pytest

from reimbursements.engine import (
    ActInput,
    CareMode,
    ContractInput,
    Flag,
    Pathway,
    PatientInput,
    PractitionerInput,
    Sector,
    SpecialSituation,
    Specialty,
)
from reimbursements.services import estimate_for

SPRING_2026 = dt.date(2026, 3, 10)
RESPONSIBLE_100 = ContractInput(coverage_percent=D(100))
RESPONSIBLE_200 = ContractInput(coverage_percent=D(200))


@dataclass(frozen=True)
class Case:
    code: str
    fee: str
    sector: Sector
    patient: PatientInput
    contract: ContractInput | None
    # expected: base, AMO, AMC, out of pocket, participation forfaitaire
    base: str
    amo: str
    amc: str
    out_of_pocket: str
    participation: str
    specialty: Specialty = Specialty.GENERAL_PRACTICE
    on: dt.date = SPRING_2026
    mode: CareMode = CareMode.IN_PERSON
    flags: frozenset[Flag] = field(default_factory=frozenset)
    reimbursable: bool = True


def adult(**kwargs) -> PatientInput:
    return PatientInput(**{"age": 40, "pathway": Pathway.TREATING_DOCTOR, **kwargs})


CASES = [
    pytest.param(
        # B = 30, r = 70%: 21.00 - PF 2 = 19.00; X = 100%: 30 - 21 = 9.00;
        # the patient pays 30 - 19 - 9 = 2.00 (the PF).
        Case(
            "G",
            "30",
            Sector.SECTOR_1,
            adult(),
            RESPONSIBLE_100,
            base="30.00",
            amo="19.00",
            amc="9.00",
            out_of_pocket="2.00",
            participation="2.00",
        ),
        id="GP sector 1 in the pathway: 30 euros give 19 from the Assurance Maladie",
    ),
    pytest.param(
        # r = 30%: 9.00 - 2 = 7.00. A contrat responsable tops up from the
        # pathway share (70% = 21.00): min(30 - 21, 30 - 21) = 9.00; the penalty
        # (40% of 30 = 12.00) and the PF stay: 30 - 7 - 9 = 14.00.
        Case(
            "G",
            "30",
            Sector.SECTOR_1,
            adult(pathway=Pathway.DIRECT),
            RESPONSIBLE_100,
            base="30.00",
            amo="7.00",
            amc="9.00",
            out_of_pocket="14.00",
            participation="2.00",
            flags=frozenset({Flag.OUTSIDE_PATHWAY}),
        ),
        id="the same GP outside the pathway: 30% minus the PF",
    ),
    pytest.param(
        # Worked example of DOMAIN.md: B = 31.50, 0.7 x 31.50 = 22.05 - 2 = 20.05;
        # AMC = min(2 x 31.50 - 22.05, 60 - 22.05) = 37.95; patient 2.00.
        Case(
            "CS",
            "60",
            Sector.SECTOR_2_OPTAM,
            adult(pathway=Pathway.REFERRED),
            RESPONSIBLE_200,
            specialty=Specialty.CARDIOLOGY,
            base="31.50",
            amo="20.05",
            amc="37.95",
            out_of_pocket="2.00",
            participation="2.00",
        ),
        id="specialist sector 2 OPTAM charging 60 with a mutuelle at 200%",
    ),
    pytest.param(
        # Without OPTAM B = 23: 16.10 - 2 = 14.10. Contrat responsable: overrun
        # coverage min(100, 100 - 20) = 80 points -> 180% of 23 = 41.40;
        # AMC = min(41.40 - 16.10, 60 - 16.10) = 25.30; patient 60 - 14.10 - 25.30.
        Case(
            "CS",
            "60",
            Sector.SECTOR_2,
            adult(pathway=Pathway.REFERRED),
            RESPONSIBLE_200,
            specialty=Specialty.CARDIOLOGY,
            base="23.00",
            amo="14.10",
            amc="25.30",
            out_of_pocket="20.60",
            participation="2.00",
            flags=frozenset({Flag.NON_OPTAM_COVERAGE_CAPPED}),
        ),
        id="the same specialist without OPTAM: lower base, capped coverage",
    ),
    pytest.param(
        # Not responsable: no cap, 200% of 23 = 46.00 and the PF may be covered:
        # AMC = min(46 - 14.10, 60 - 14.10) = 31.90; patient 60 - 14.10 - 31.90.
        Case(
            "CS",
            "60",
            Sector.SECTOR_2,
            adult(pathway=Pathway.REFERRED),
            ContractInput(coverage_percent=D(200), responsible=False),
            specialty=Specialty.CARDIOLOGY,
            base="23.00",
            amo="14.10",
            amc="31.90",
            out_of_pocket="14.00",
            participation="2.00",
        ),
        id="contrat non responsable at 200% without OPTAM: no cap",
    ),
    pytest.param(
        # Not responsable, outside the pathway: AMO 7.00 (as above); AMO + AMC
        # reach 100% of 30, PF and penalty included: AMC = 30 - 7 = 23.00.
        Case(
            "G",
            "30",
            Sector.SECTOR_1,
            adult(pathway=Pathway.DIRECT),
            ContractInput(coverage_percent=D(100), responsible=False),
            base="30.00",
            amo="7.00",
            amc="23.00",
            out_of_pocket="0.00",
            participation="2.00",
            flags=frozenset({Flag.OUTSIDE_PATHWAY}),
        ),
        id="contrat non responsable covers the penalty and the PF",
    ),
    pytest.param(
        # ALD-related care: r = 100%, 30 - 2 = 28.00; AMC = min(30 - 30, 0) = 0;
        # the PF is still due: patient 2.00.
        Case(
            "G",
            "30",
            Sector.SECTOR_1,
            adult(has_ald=True, act_related_to_ald=True),
            RESPONSIBLE_100,
            base="30.00",
            amo="28.00",
            amc="0.00",
            out_of_pocket="2.00",
            participation="2.00",
        ),
        id="ALD-related care: 100% but the PF stays",
    ),
    pytest.param(
        # ALD patient seeing a specialist without referral: 30% of 31.50 = 9.45
        # - 2 = 7.45; the pathway share would be 100% (31.50), so a contrat
        # responsable adds min(31.50 - 31.50, ...) = 0; patient 31.50 - 7.45.
        Case(
            "CS",
            "31.50",
            Sector.SECTOR_1,
            adult(pathway=Pathway.DIRECT, has_ald=True, act_related_to_ald=True),
            RESPONSIBLE_100,
            specialty=Specialty.CARDIOLOGY,
            base="31.50",
            amo="7.45",
            amc="0.00",
            out_of_pocket="24.05",
            participation="2.00",
            flags=frozenset({Flag.OUTSIDE_PATHWAY}),
        ),
        id="ALD outside the pathway loses the 100% rate",
    ),
    pytest.param(
        # Teleconsultation without referral nor médecin traitant: not reimbursed
        # at all, no PF deducted; the patient pays the whole 25.00.
        Case(
            "TCG",
            "25",
            Sector.SECTOR_1,
            adult(pathway=Pathway.DIRECT, seen_in_person_within_12_months=True),
            RESPONSIBLE_100,
            mode=CareMode.VIDEO,
            base="25.00",
            amo="0.00",
            amc="0.00",
            out_of_pocket="25.00",
            participation="0.00",
            flags=frozenset({Flag.TELECONSULTATION_NOT_REIMBURSABLE}),
            reimbursable=False,
        ),
        id="teleconsultation outside the pathway is not reimbursed",
    ),
    pytest.param(
        # By the médecin traitant, seen within 12 months, by video: 70% of 25 =
        # 17.50 - 2 = 15.50; AMC = 25 - 17.50 = 7.50; patient 2.00.
        Case(
            "TCG",
            "25",
            Sector.SECTOR_1,
            adult(seen_in_person_within_12_months=True),
            RESPONSIBLE_100,
            mode=CareMode.VIDEO,
            base="25.00",
            amo="15.50",
            amc="7.50",
            out_of_pocket="2.00",
            participation="2.00",
        ),
        id="teleconsultation with the médecin traitant is reimbursed at 70%",
    ),
    pytest.param(
        # Same patient, but by telephone: not a teleconsultation, 25.00 to pay.
        Case(
            "TCG",
            "25",
            Sector.SECTOR_1,
            adult(seen_in_person_within_12_months=True),
            RESPONSIBLE_100,
            mode=CareMode.TELEPHONE,
            base="25.00",
            amo="0.00",
            amc="0.00",
            out_of_pocket="25.00",
            participation="0.00",
            flags=frozenset({Flag.TELECONSULTATION_NOT_REIMBURSABLE}),
            reimbursable=False,
        ),
        id="a telephone consultation is not reimbursed",
    ),
    pytest.param(
        # Not seen in person for 12 months, but in an emergency: exempt, 15.50.
        Case(
            "TCG",
            "25",
            Sector.SECTOR_1,
            adult(pathway=Pathway.DIRECT, special_situation=SpecialSituation.EMERGENCY),
            None,
            mode=CareMode.VIDEO,
            base="25.00",
            amo="15.50",
            amc="0.00",
            out_of_pocket="9.50",
            participation="2.00",
            flags=frozenset({Flag.NO_COMPLEMENTARY}),
        ),
        id="an emergency teleconsultation is reimbursed without the conditions",
    ),
    pytest.param(
        # A 10-year-old: the pathway does not apply under 16 (70%) and no PF
        # under 18: AMO 21.00; no mutuelle: 30 - 21 = 9.00.
        Case(
            "G",
            "30",
            Sector.SECTOR_1,
            PatientInput(age=10, pathway=Pathway.DIRECT),
            None,
            base="30.00",
            amo="21.00",
            amc="0.00",
            out_of_pocket="9.00",
            participation="0.00",
            flags=frozenset({Flag.NO_COMPLEMENTARY}),
        ),
        id="a minor pays no PF and keeps the pathway rate",
    ),
    pytest.param(
        # 14 December, 50.00 of PF already paid: cap reached, PF 0; AMO 21.00,
        # AMC 9.00, nothing left to pay.
        Case(
            "G",
            "30",
            Sector.SECTOR_1,
            adult(participation_paid_this_year=D("50.00")),
            RESPONSIBLE_100,
            on=dt.date(2026, 12, 14),
            base="30.00",
            amo="21.00",
            amc="9.00",
            out_of_pocket="0.00",
            participation="0.00",
            flags=frozenset({Flag.PARTICIPATION_CAP_REACHED}),
        ),
        id="the 50 euro yearly cap reached in December: no PF",
    ),
    pytest.param(
        # 49.00 already paid: only 1.00 left under the cap: AMO 21 - 1 = 20.00.
        Case(
            "G",
            "30",
            Sector.SECTOR_1,
            adult(participation_paid_this_year=D("49.00")),
            RESPONSIBLE_100,
            on=dt.date(2026, 12, 14),
            base="30.00",
            amo="20.00",
            amc="9.00",
            out_of_pocket="1.00",
            participation="1.00",
            flags=frozenset({Flag.PARTICIPATION_CAP_REACHED}),
        ),
        id="one euro left under the cap: partial PF",
    ),
    pytest.param(
        # C2S: no PF, 21.00 from the AMO, the C2S pays the 9.00 ticket modérateur.
        Case(
            "G",
            "30",
            Sector.SECTOR_1,
            adult(c2s=True),
            None,
            base="30.00",
            amo="21.00",
            amc="9.00",
            out_of_pocket="0.00",
            participation="0.00",
        ),
        id="a C2S beneficiary pays nothing",
    ),
    pytest.param(
        # C2S with an (unlawful) overrun: 22.05 + C2S min(31.50 - 22.05,
        # 40 - 22.05) = 9.45; the 8.50 overrun is flagged.
        Case(
            "CS",
            "40",
            Sector.SECTOR_2_OPTAM,
            adult(pathway=Pathway.REFERRED, c2s=True),
            None,
            specialty=Specialty.CARDIOLOGY,
            base="31.50",
            amo="22.05",
            amc="9.45",
            out_of_pocket="8.50",
            participation="0.00",
            flags=frozenset({Flag.C2S_OVERRUN_NOT_ALLOWED}),
        ),
        id="an overrun charged to a C2S beneficiary is flagged",
    ),
    pytest.param(
        # Pregnant from the sixth month: 100% of 31.50, no PF; nothing to pay.
        Case(
            "CS",
            "31.50",
            Sector.SECTOR_1,
            adult(pathway=Pathway.REFERRED, pregnant_six_months_or_more=True),
            None,
            specialty=Specialty.CARDIOLOGY,
            base="31.50",
            amo="31.50",
            amc="0.00",
            out_of_pocket="0.00",
            participation="0.00",
            flags=frozenset({Flag.NO_COMPLEMENTARY}),
        ),
        id="pregnancy from the sixth month: 100% and no PF",
    ),
    pytest.param(
        # 31 December 2025: CNPSY 55.00; 38.50 - 2 = 36.50; AMC 55 - 38.50 = 16.50.
        Case(
            "CNPSY",
            "55",
            Sector.SECTOR_1,
            adult(pathway=Pathway.REFERRED),
            RESPONSIBLE_100,
            specialty=Specialty.PSYCHIATRY,
            on=dt.date(2025, 12, 31),
            base="55.00",
            amo="36.50",
            amc="16.50",
            out_of_pocket="2.00",
            participation="2.00",
        ),
        id="psychiatrist before 1 January 2026: tariff 55",
    ),
    pytest.param(
        # 2 January 2026: CNPSY 57.00; 39.90 - 2 = 37.90; AMC 57 - 39.90 = 17.10.
        Case(
            "CNPSY",
            "57",
            Sector.SECTOR_1,
            adult(pathway=Pathway.REFERRED),
            RESPONSIBLE_100,
            specialty=Specialty.PSYCHIATRY,
            on=dt.date(2026, 1, 2),
            base="57.00",
            amo="37.90",
            amc="17.10",
            out_of_pocket="2.00",
            participation="2.00",
        ),
        id="psychiatrist from 1 January 2026: tariff 57",
    ),
    pytest.param(
        # A 20-year-old sees a psychiatrist directly (direct access 16-25): 70%,
        # 39.90 - 2 = 37.90; no mutuelle: 57 - 37.90 = 19.10.
        Case(
            "CNPSY",
            "57",
            Sector.SECTOR_1,
            PatientInput(age=20, pathway=Pathway.DIRECT),
            None,
            specialty=Specialty.PSYCHIATRY,
            base="57.00",
            amo="37.90",
            amc="0.00",
            out_of_pocket="19.10",
            participation="2.00",
            flags=frozenset({Flag.NO_COMPLEMENTARY}),
        ),
        id="psychiatry is in direct access from 16 to 25",
    ),
    pytest.param(
        # 80 euros >= 70 with an overrun: written information flag. 20.05 AMO;
        # AMC = min(63 - 22.05, 80 - 22.05) = 40.95; patient 80 - 20.05 - 40.95.
        Case(
            "CS",
            "80",
            Sector.SECTOR_2_OPTAM,
            adult(pathway=Pathway.REFERRED),
            RESPONSIBLE_200,
            specialty=Specialty.CARDIOLOGY,
            base="31.50",
            amo="20.05",
            amc="40.95",
            out_of_pocket="19.00",
            participation="2.00",
            flags=frozenset({Flag.WRITTEN_INFORMATION_REQUIRED}),
        ),
        id="a fee above 70 euros requires written information",
    ),
    pytest.param(
        # Sector 1 specialist seen directly charges 40 (authorised overrun):
        # 30% of 31.50 = 9.45 - 2 = 7.45; a contrat responsable covers neither
        # the DA nor the penalty: coverage 100%, min(31.50 - 22.05, ...) = 9.45;
        # patient 40 - 7.45 - 9.45 = 23.10.
        Case(
            "CS",
            "40",
            Sector.SECTOR_1,
            adult(pathway=Pathway.DIRECT),
            RESPONSIBLE_200,
            specialty=Specialty.CARDIOLOGY,
            base="31.50",
            amo="7.45",
            amc="9.45",
            out_of_pocket="23.10",
            participation="2.00",
            flags=frozenset({Flag.OUTSIDE_PATHWAY}),
        ),
        id="a contrat responsable does not cover the authorised overrun",
    ),
    pytest.param(
        # Mutuelle with 10.00 left for overruns this year: ticket modérateur
        # 31.50 - 22.05 = 9.45 always covered, overrun part 28.50 cut to 10.00:
        # AMC 19.45; patient 60 - 20.05 - 19.45 = 20.50.
        Case(
            "CS",
            "60",
            Sector.SECTOR_2_OPTAM,
            adult(pathway=Pathway.REFERRED),
            ContractInput(coverage_percent=D(200), yearly_cap_remaining=D(10)),
            specialty=Specialty.CARDIOLOGY,
            base="31.50",
            amo="20.05",
            amc="19.45",
            out_of_pocket="20.50",
            participation="2.00",
            flags=frozenset({Flag.CONTRACT_CAP_REACHED}),
        ),
        id="the mutuelle's yearly ceiling limits the overrun it pays",
    ),
    pytest.param(
        # ECG: 70% of 14.26 = 9.982 -> 9.98 - 2 = 7.98; AMC 14.26 - 9.98 = 4.28.
        Case(
            "DEQP003",
            "14.26",
            Sector.SECTOR_1,
            adult(pathway=Pathway.REFERRED),
            RESPONSIBLE_100,
            specialty=Specialty.CARDIOLOGY,
            base="14.26",
            amo="7.98",
            amc="4.28",
            out_of_pocket="2.00",
            participation="2.00",
        ),
        id="an ECG is rounded to the cent half up",
    ),
    pytest.param(
        # Not conventioned: tarif d'autorité 0.61; 70% = 0.427 -> 0.43; the PF
        # cannot exceed it (0.43): AMO 0.00; the patient pays all 50.00.
        Case(
            "G",
            "50",
            Sector.NON_CONVENTIONED,
            adult(),
            None,
            base="0.61",
            amo="0.00",
            amc="0.00",
            out_of_pocket="50.00",
            participation="0.43",
            flags=frozenset({Flag.NO_COMPLEMENTARY}),
        ),
        id="a doctor outside the convention: the tarif d'autorité",
    ),
]


@pytest.mark.parametrize("case", CASES)
def test_estimate(case: Case, reference_tariffs):
    estimate = estimate_for(
        act=ActInput(
            code=case.code, performed_on=case.on, fee=D(case.fee), mode=case.mode
        ),
        practitioner=PractitionerInput(sector=case.sector, specialty=case.specialty),
        patient=case.patient,
        contract=case.contract,
    )

    assert (
        estimate.base,
        estimate.amo,
        estimate.amc,
        estimate.out_of_pocket,
        estimate.participation,
    ) == (
        D(case.base),
        D(case.amo),
        D(case.amc),
        D(case.out_of_pocket),
        D(case.participation),
    )
    assert estimate.amo + estimate.amc + estimate.out_of_pocket == D(case.fee)
    assert estimate.flags == case.flags
    assert estimate.reimbursable is case.reimbursable


def test_the_table_holds_at_least_fifteen_cases():
    assert len(CASES) >= 15
