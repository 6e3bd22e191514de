"""The portal's reimbursement simulation page."""

import pytest

from reimbursements.models import (
    Act,
    ActTariff,
    AdministrativeProcedure,
    RecordedAct,
)

URL = "/reimbursements/estimate/"

GP_IN_PATHWAY = {
    "act": "G",
    "performed_on": "2026-03-10",
    "fee": "30",
    "mode": "in_person",
    "sector": "sector_1",
    "specialty": "general_practice",
    "pathway": "treating_doctor",
    "age": "40",
    "participation_paid_this_year": "0",
    "coverage_percent": "100",
    "responsible": "on",
}


def _saved_rows():
    return (
        RecordedAct.objects.count(),
        AdministrativeProcedure.objects.count(),
        Act.objects.count(),
        ActTariff.objects.count(),
    )


def test_the_simulation_asks_to_sign_in(client, db):
    response = client.get(URL)

    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


def test_the_simulation_form_is_in_french(client, patient_user, reference_tariffs):
    client.force_login(patient_user)

    response = client.get(URL)

    html = response.content.decode()
    assert response.status_code == 200
    assert "Simuler un remboursement" in html
    assert "Parcours de soins coordonnés" in html
    assert 'value="G"' in html


def test_a_gp_visit_in_the_pathway_shows_19_euros_from_the_assurance_maladie(
    client, patient_user, reference_tariffs
):
    client.force_login(patient_user)
    before = _saved_rows()

    response = client.post(URL, GP_IN_PATHWAY)

    estimate = response.context["estimate"]
    assert (estimate.amo, estimate.amc, estimate.out_of_pocket) == (19, 9, 2)
    html = response.content.decode()
    assert "19,00\xa0€" in html
    assert "Reste à votre charge" in html
    assert _saved_rows() == before


def test_a_french_decimal_comma_is_understood(client, patient_user, reference_tariffs):
    client.force_login(patient_user)

    response = client.post(URL, {**GP_IN_PATHWAY, "fee": "30,00"})

    assert response.context["estimate"].fee == 30


def test_a_teleconsultation_outside_the_pathway_is_shown_as_not_reimbursed(
    client, patient_user, reference_tariffs
):
    client.force_login(patient_user)
    data = {**GP_IN_PATHWAY, "act": "TCG", "fee": "25", "mode": "video"}
    data["pathway"] = "direct"

    response = client.post(URL, data)

    assert response.context["estimate"].reimbursable is False
    assert "Cette téléconsultation n’est pas remboursable" in response.content.decode()


def test_bad_input_is_shown_again_with_french_field_errors_and_nothing_saved(
    client, patient_user, reference_tariffs
):
    client.force_login(patient_user)
    before = _saved_rows()
    data = {**GP_IN_PATHWAY, "act": "ZZZ", "fee": "trente", "age": "-3"}
    del data["pathway"]

    response = client.post(URL, data)

    assert response.status_code == 200
    assert response.context["estimate"] is None
    errors = {
        field: [error.code for error in field_errors]
        for field, field_errors in response.context["form"].errors.as_data().items()
    }
    assert errors == {
        "act": ["invalid_choice"],
        "fee": ["invalid"],
        "age": ["min_value"],
        "pathway": ["required"],
    }
    html = response.content.decode()
    assert "Ce champ est obligatoire." in html
    assert 'value="trente"' in html  # the patient's input comes back
    assert 'aria-invalid="true"' in html
    assert _saved_rows() == before


@pytest.mark.parametrize(
    ("change", "field", "code"),
    [
        ({"act": "TCG", "mode": "in_person"}, "mode", "teleconsultation_mode"),
        (
            {"coverage_percent": "", "non_optam_coverage_percent": "180"},
            "coverage_percent",
            "coverage_required",
        ),
        ({"coverage_percent": "5000"}, "coverage_percent", "max_value"),
        ({"fee": "-1"}, "fee", "min_value"),
    ],
)
def test_inconsistent_answers_are_refused_field_by_field(
    client, patient_user, reference_tariffs, change, field, code
):
    client.force_login(patient_user)

    response = client.post(URL, {**GP_IN_PATHWAY, **change})

    assert [e.code for e in response.context["form"].errors.as_data()[field]] == [code]


def test_a_missing_tariff_is_explained_not_a_server_error(
    client, patient_user, reference_tariffs
):
    client.force_login(patient_user)

    response = client.post(
        URL, {**GP_IN_PATHWAY, "act": "APC", "sector": "sector_2", "fee": "80"}
    )

    assert response.status_code == 200
    errors = response.context["form"].non_field_errors().as_data()
    assert [error.code for error in errors] == ["no_tariff"]


def _record_gp_visits(patient, count: int) -> None:
    import datetime as dt
    from decimal import Decimal

    from reimbursements import services
    from reimbursements.engine import ActInput, PatientInput, PractitionerInput

    for week in range(count):
        services.record_act(
            patient=patient,
            act=ActInput(
                code="G",
                performed_on=dt.date(2026, 1, 5) + dt.timedelta(weeks=week),
                fee=Decimal("30"),
            ),
            practitioner=PractitionerInput(sector="sector_1"),
            situation=PatientInput(age=40, pathway="treating_doctor"),
        )


def test_a_patient_with_a_file_gets_the_participation_counted_from_recorded_acts(
    client, patient, reference_tariffs
):
    # 25 recorded visits already paid the 50 euro cap of 2026: nothing is deducted.
    _record_gp_visits(patient, 25)
    client.force_login(patient.user)
    data = {**GP_IN_PATHWAY, "participation_paid_this_year": "0"}

    response = client.post(URL, data)

    estimate = response.context["estimate"]
    assert estimate.participation == 0
    assert estimate.amo == 21
    assert response.context["participation"] == (2026, 50)
    html = response.content.decode()
    assert "50,00\xa0€" in html
    assert 'name="participation_paid_this_year"' not in html


def test_the_recorded_participation_is_counted_for_the_year_of_the_visit(
    client, patient, reference_tariffs
):
    _record_gp_visits(patient, 25)
    client.force_login(patient.user)

    response = client.post(URL, {**GP_IN_PATHWAY, "performed_on": "2027-01-12"})

    assert response.context["estimate"].participation == 2
    assert response.context["participation"] == (2027, 0)


def test_a_patient_without_a_file_still_types_the_participation(
    client, patient_user, reference_tariffs
):
    client.force_login(patient_user)

    response = client.post(URL, {**GP_IN_PATHWAY, "participation_paid_this_year": "50"})

    assert response.context["estimate"].participation == 0
    assert response.context["participation"] is None
    assert 'name="participation_paid_this_year"' in response.content.decode()


def test_the_form_starts_from_what_the_patient_file_says(
    client, patient, reference_tariffs
):
    from tests.patients.factories import InsuranceCoverageFactory

    InsuranceCoverageFactory(patient=patient, coverage_rate=150)
    client.force_login(patient.user)

    response = client.get(URL)

    form = response.context["form"]
    assert form.initial["age"] == patient.age
    assert form.initial["coverage_percent"] == 150
