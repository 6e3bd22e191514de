"""French reimbursement conditions of a teleconsultation (ameli.fr): in the
coordinated care pathway and seen in person by this practitioner within 12
months, except direct-access specialties and patients under 16."""

import datetime
from datetime import timedelta

from django.utils import timezone

from appointments.models import Appointment
from specialists.models import Specialty
from teleconsult import eligibility
from teleconsult.eligibility import check_eligibility
from tests.appointments.factories import AppointmentFactory, open_practitioner
from tests.patients.factories import InsuranceCoverageFactory, PatientFactory


def _seen_in_person(patient, practitioner, *, days_ago: int) -> Appointment:
    starts_at = timezone.now() - timedelta(days=days_ago)
    return AppointmentFactory(
        patient=patient,
        practitioner=practitioner,
        starts_at=starts_at,
        ends_at=starts_at + timedelta(minutes=30),
        state=Appointment.State.DONE,
    )


def _declared(patient):
    InsuranceCoverageFactory(
        patient=patient,
        treating_doctor_declared=True,
        valid_from=datetime.date(2020, 1, 1),
    )


def test_in_the_pathway_and_seen_within_a_year_is_reimbursable(db):
    patient = PatientFactory()
    practitioner = open_practitioner(specialties=("cardiology",))
    _declared(patient)
    _seen_in_person(patient, practitioner, days_ago=200)

    result = check_eligibility(patient=patient, practitioner=practitioner)

    assert result.reimbursable is True
    assert result.reasons == ()


def test_neither_condition_met_gives_both_reasons(db):
    patient = PatientFactory()
    practitioner = open_practitioner(specialties=("cardiology",))

    result = check_eligibility(patient=patient, practitioner=practitioner)

    assert result.reimbursable is False
    assert result.reasons == (
        eligibility.OUTSIDE_PATHWAY,
        eligibility.NOT_SEEN_IN_PERSON,
    )
    assert len(result.messages) == 2


def test_a_visit_more_than_twelve_months_ago_does_not_count(db):
    patient = PatientFactory()
    practitioner = open_practitioner(specialties=("cardiology",))
    _declared(patient)
    _seen_in_person(patient, practitioner, days_ago=400)

    result = check_eligibility(patient=patient, practitioner=practitioner)

    assert result.reasons == (eligibility.NOT_SEEN_IN_PERSON,)


def test_a_visit_with_another_practitioner_does_not_count(db):
    patient = PatientFactory()
    practitioner = open_practitioner(specialties=("cardiology",))
    _declared(patient)
    _seen_in_person(patient, open_practitioner(), days_ago=30)

    result = check_eligibility(patient=patient, practitioner=practitioner)

    assert result.reasons == (eligibility.NOT_SEEN_IN_PERSON,)


def test_seen_in_person_but_outside_the_pathway_is_not_reimbursable(db):
    patient = PatientFactory()
    practitioner = open_practitioner(specialties=("cardiology",))
    _seen_in_person(patient, practitioner, days_ago=30)

    result = check_eligibility(patient=patient, practitioner=practitioner)

    assert result.reasons == (eligibility.OUTSIDE_PATHWAY,)


def test_a_missed_appointment_is_not_a_visit(db):
    patient = PatientFactory()
    practitioner = open_practitioner(specialties=("cardiology",))
    _declared(patient)
    missed = _seen_in_person(patient, practitioner, days_ago=30)
    Appointment.objects.filter(pk=missed.pk).update(state=Appointment.State.NO_SHOW)

    result = check_eligibility(patient=patient, practitioner=practitioner)

    assert result.reasons == (eligibility.NOT_SEEN_IN_PERSON,)


def test_patients_under_sixteen_are_exempt(db):
    child = PatientFactory(birth_date=timezone.localdate() - timedelta(days=365 * 10))
    practitioner = open_practitioner(specialties=("cardiology",))

    result = check_eligibility(patient=child, practitioner=practitioner)

    assert result.reimbursable is True
    assert result.exemption == eligibility.UNDER_16


def test_direct_access_specialties_are_exempt(db):
    patient = PatientFactory()
    practitioner = open_practitioner(specialties=("cardiology",))
    gynaecology = Specialty.objects.filter(direct_access=True).first()
    assert gynaecology is not None

    result = check_eligibility(
        patient=patient, practitioner=practitioner, specialty=gynaecology
    )

    assert result.reimbursable is True
    assert result.exemption == eligibility.DIRECT_ACCESS


def test_the_session_of_a_booking_carries_the_flag(patient):
    from tests.teleconsult.conftest import make_video_appointment

    appointment = make_video_appointment(patient=patient)

    session = appointment.teleconsultation
    assert session.reimbursable is False
    assert eligibility.NOT_SEEN_IN_PERSON in session.eligibility_reasons
