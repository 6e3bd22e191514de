"""The pure estimate function: explanations, flags and input checks, no database."""

import datetime as dt
from decimal import Decimal as D
from types import SimpleNamespace

import pytest
from django.utils import translation

from reimbursements import adapters
from reimbursements.engine import (
    ActInput,
    ActKind,
    ContractInput,
    ContributionKind,
    ContributionRule,
    EstimateInput,
    Flag,
    Pathway,
    PatientInput,
    PractitionerInput,
    Sector,
    SpecialSituation,
    Specialty,
    TariffGrid,
    TariffRules,
    compute_estimate,
)

DAY = dt.date(2026, 3, 10)


def rules(**overrides) -> TariffRules:
    values = {
        "act_code": "CS",
        "act_label": "Consultation du médecin spécialiste",
        "act_kind": ActKind.CONSULTATION,
        "grid": TariffGrid.OPTAM,
        "base": D("31.50"),
        "tariff_valid_from": dt.date(2024, 12, 22),
        "standard_rate": D(70),
        "outside_pathway_rate": D(30),
        "ald_rate": D(100),
        "maternity_rate": D(100),
        "contribution": ContributionRule(
            kind=ContributionKind.PARTICIPATION_FORFAITAIRE,
            amount_per_act=D(2),
            yearly_cap=D(50),
            adult_from_age=18,
        ),
        "written_information_threshold": D(70),
        "non_optam_overrun_cap": D(100),
        "non_optam_overrun_gap": D(20),
    }
    return TariffRules(**{**values, **overrides})


def request(fee="60", sector=Sector.SECTOR_2_OPTAM, contract=None, **patient):
    return EstimateInput(
        act=ActInput(code="CS", performed_on=DAY, fee=D(fee)),
        practitioner=PractitionerInput(sector=sector, specialty=Specialty.CARDIOLOGY),
        patient=PatientInput(**{"age": 40, "pathway": Pathway.REFERRED, **patient}),
        contract=contract or ContractInput(coverage_percent=D(200)),
    )


def test_the_explanation_is_in_french_with_the_amounts():
    with translation.override("fr"):
        estimate = compute_estimate(request(), rules())

    lines = [(line.text, line.amount) for line in estimate.lines]
    assert lines[0] == ("Honoraires demandés par le praticien", D("60.00"))
    assert (
        "Assurance Maladie : 70\xa0% de 31,50\xa0€ (Parcours de soins coordonnés)",
        D("22.05"),
    ) in lines
    assert ("Participation forfaitaire déduite du remboursement", D("-2.00")) in lines
    assert lines[-1] == ("Reste à votre charge", D("2.00"))


def test_the_explanation_follows_the_active_language():
    with translation.override("en"):
        estimate = compute_estimate(request(), rules())

    assert estimate.lines[-1].text == "Left for you to pay"
    assert any("€31.50" in line.text for line in estimate.lines)


def test_the_amounts_always_add_up_to_the_fee():
    estimate = compute_estimate(request(fee="123.45"), rules())

    assert estimate.amo + estimate.amc + estimate.out_of_pocket == D("123.45")
    assert estimate.total_reimbursed == estimate.amo + estimate.amc


def test_a_fee_below_the_tariff_becomes_the_base():
    # 25 charged for a 31.50 act: 70% of 25 = 17.50 - 2 = 15.50.
    estimate = compute_estimate(request(fee="25", sector=Sector.SECTOR_1), rules())

    assert (estimate.base, estimate.amo) == (D("25.00"), D("15.50"))


def test_exactly_70_euros_with_an_overrun_needs_written_information():
    estimate = compute_estimate(request(fee="70"), rules())

    assert Flag.WRITTEN_INFORMATION_REQUIRED in estimate.flags


def test_a_fee_of_70_euros_at_the_tariff_needs_no_written_information():
    estimate = compute_estimate(
        request(fee="70", sector=Sector.SECTOR_1), rules(base=D(70))
    )

    assert Flag.WRITTEN_INFORMATION_REQUIRED not in estimate.flags


def test_a_stated_non_optam_coverage_is_used_when_lawful():
    # 150% stated for non-OPTAM, allowed up to 180%: 150% of 23 = 34.50;
    # AMC = 34.50 - 16.10 = 18.40.
    contract = ContractInput(coverage_percent=D(200), non_optam_coverage_percent=D(150))

    estimate = compute_estimate(
        request(sector=Sector.SECTOR_2, contract=contract),
        rules(grid=TariffGrid.NON_OPTAM, base=D(23)),
    )

    assert estimate.amc == D("18.40")
    assert Flag.NON_OPTAM_COVERAGE_CAPPED not in estimate.flags


def test_a_150_percent_responsible_contract_covers_30_points_without_optam():
    # OPTAM overrun 50 points, minus 20: 130% of 23 = 29.90 - 16.10 = 13.80.
    contract = ContractInput(coverage_percent=D(150))

    estimate = compute_estimate(
        request(sector=Sector.SECTOR_2, contract=contract),
        rules(grid=TariffGrid.NON_OPTAM, base=D(23)),
    )

    assert estimate.amc == D("13.80")
    assert Flag.NON_OPTAM_COVERAGE_CAPPED in estimate.flags


@pytest.mark.parametrize(
    "situation",
    [
        SpecialSituation.TREATING_DOCTOR_UNAVAILABLE,
        SpecialSituation.DETAINED,
        SpecialSituation.NURSING_HOME,
    ],
)
def test_teleconsultation_exceptions_waive_the_pathway_and_12_month_rules(situation):
    estimate = compute_estimate(
        EstimateInput(
            act=ActInput(code="TCG", performed_on=DAY, fee=D(25), mode="video"),
            practitioner=PractitionerInput(sector=Sector.SECTOR_1),
            patient=PatientInput(
                age=70, pathway=Pathway.DIRECT, special_situation=situation
            ),
        ),
        rules(act_code="TCG", act_kind=ActKind.TELECONSULTATION, base=D(25)),
    )

    assert estimate.reimbursable
    assert estimate.amo == D("15.50")


def test_a_gynaecologist_teleconsultation_needs_no_referral():
    estimate = compute_estimate(
        EstimateInput(
            act=ActInput(code="CS", performed_on=DAY, fee=D("31.50"), mode="video"),
            practitioner=PractitionerInput(
                sector=Sector.SECTOR_1, specialty=Specialty.GYNAECOLOGY
            ),
            patient=PatientInput(age=30, pathway=Pathway.DIRECT),
        ),
        rules(),
    )

    assert estimate.reimbursable
    assert Flag.OUTSIDE_PATHWAY not in estimate.flags


def test_a_psychiatrist_seen_directly_at_30_is_outside_the_pathway():
    estimate = compute_estimate(
        EstimateInput(
            act=ActInput(code="CS", performed_on=DAY, fee=D("31.50")),
            practitioner=PractitionerInput(
                sector=Sector.SECTOR_1, specialty=Specialty.PSYCHIATRY
            ),
            patient=PatientInput(age=30, pathway=Pathway.DIRECT),
        ),
        rules(),
    )

    assert Flag.OUTSIDE_PATHWAY in estimate.flags


def test_the_age_is_taken_on_the_day_of_the_act():
    # 18 the day after the act: still a minor, no participation.
    patient = PatientInput(
        birth_date=dt.date(2008, 3, 11), pathway=Pathway.TREATING_DOCTOR
    )

    assert patient.age_on(DAY) == 17
    assert patient.age_on(dt.date(2026, 3, 11)) == 18
    estimate = compute_estimate(
        EstimateInput(
            act=ActInput(code="CS", performed_on=DAY, fee=D("31.50")),
            practitioner=PractitionerInput(sector=Sector.SECTOR_1),
            patient=patient,
        ),
        rules(),
    )
    assert estimate.participation == 0


def test_an_act_without_a_flat_contribution_deducts_nothing():
    estimate = compute_estimate(request(), rules(contribution=None))

    assert (estimate.participation, estimate.amo) == (D(0), D("22.05"))


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (lambda: ActInput(code="G", performed_on=DAY, fee=D(-1)), "negative"),
        (lambda: PatientInput(pathway=Pathway.DIRECT), "age or birth date"),
        (
            lambda: PatientInput(
                pathway=Pathway.DIRECT, age=3, birth_date=dt.date(2020, 1, 1)
            ),
            "age or birth date",
        ),
        (lambda: PatientInput(pathway=Pathway.DIRECT, age=-1), "negative"),
        (lambda: ContractInput(coverage_percent=D(-5)), "negative"),
    ],
)
def test_impossible_inputs_are_refused(build, message):
    with pytest.raises(ValueError, match=message):
        build()


def test_rules_for_another_act_or_sector_are_refused():
    with pytest.raises(ValueError, match="another act"):
        compute_estimate(request(), rules(act_code="G"))
    with pytest.raises(ValueError, match="another sector"):
        compute_estimate(request(), rules(grid=TariffGrid.NON_OPTAM))


# --- Adapters -------------------------------------------------------------------


def coverage(**overrides):
    values = {
        "treating_doctor_declared": True,
        "ald": False,
        "c2s": False,
        "mutuelle_name": "Mutuelle des Lilas",
        "coverage_rate": D(200),
        "optam_overrun_rate": D(100),
        "non_optam_overrun_rate": D(80),
        "contrat_responsable": True,
    }
    return SimpleNamespace(**{**values, **overrides})


def test_the_adapters_read_the_patient_file_and_the_practitioner():
    patient = SimpleNamespace(reference="P-ABC123", birth_date=dt.date(1980, 5, 1))

    inputs = adapters.patient_input(patient, coverage=coverage(ald=True), referred=True)
    contract = adapters.contract_input(coverage())
    practitioner = adapters.practitioner_input(
        SimpleNamespace(sector="2-optam"), specialty_code="gynaecology-obstetrics"
    )

    assert inputs.pathway == Pathway.REFERRED
    assert inputs.has_ald
    assert not inputs.act_related_to_ald
    assert inputs.age_on(DAY) == 45
    assert (contract.coverage_percent, contract.non_optam_coverage_percent) == (
        D(200),
        D(180),
    )
    assert contract.name == "Mutuelle des Lilas"
    assert practitioner == PractitionerInput(
        sector=Sector.SECTOR_2_OPTAM, specialty=Specialty.GYNAECOLOGY
    )


def test_without_a_declared_treating_doctor_a_referral_does_not_count():
    patient = SimpleNamespace(reference="P-ABC124", birth_date=dt.date(1980, 5, 1))

    inputs = adapters.patient_input(
        patient, coverage=coverage(treating_doctor_declared=False), referred=True
    )

    assert inputs.pathway == Pathway.DIRECT


def test_no_coverage_rate_means_no_contract():
    assert adapters.contract_input(None) is None
    assert (
        adapters.contract_input(coverage(coverage_rate=None, optam_overrun_rate=None))
        is None
    )


def test_an_unknown_sector_code_is_refused():
    with pytest.raises(ValueError, match="Unknown sector"):
        adapters.practitioner_input(SimpleNamespace(sector="9"), specialty_code="x")
