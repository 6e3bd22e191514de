"""Appointments move their care request: booked → scheduled, done → in care, report
→ follow-up; a cancelled or missed one sends it back to the search; closing waits
for pending appointments."""

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from appointments import services
from appointments.models import Face
from patients.models import CareRequest
from patients.services import care_requests
from tests.appointments.conftest import error_codes
from tests.appointments.factories import AppointmentFactory, free_slots, slot_after
from tests.patients.factories import PDF_BYTES, CareRequestFactory

State = CareRequest.State


@pytest.fixture
def care_request(patient):
    return CareRequestFactory(patient=patient, state=State.PROPOSED)


def book(patient, practitioner, slot, **kwargs):
    return services.book_appointment(
        patient=patient,
        practitioner=practitioner,
        kind=slot.kind,
        starts_at=slot.starts_at,
        by=patient.user,
        via=Face.PORTAL,
        **kwargs,
    )


def test_booking_schedules_the_care_request(patient, practitioner, care_request):
    appointment = book(
        patient, practitioner, slot_after(practitioner), care_request=care_request
    )

    care_request.refresh_from_db()
    assert care_request.state == State.SCHEDULED
    assert care_request.appointment_reference == str(appointment.public_id)
    assert appointment.specialty.code == "dermatology"


def test_a_follow_up_of_a_request_in_care_moves_nothing(patient, practitioner):
    request = CareRequestFactory(patient=patient, state=State.IN_CARE)

    appointment = book(
        patient, practitioner, slot_after(practitioner), care_request=request
    )

    request.refresh_from_db()
    assert request.state == State.IN_CARE
    assert appointment.care_request == request


def test_a_follow_up_booking_inherits_the_request(patient, practitioner, coordinator):
    request = CareRequestFactory(patient=patient, state=State.IN_CARE)
    first = AppointmentFactory(
        patient=patient,
        practitioner=practitioner,
        care_request=request,
        starts_at=timezone.now() - timedelta(days=10),
        state="done",
    )

    follow_up = services.book_appointment(
        patient=patient,
        practitioner=practitioner,
        kind="follow_up",
        starts_at=slot_after(practitioner, kind="follow_up").starts_at,
        follows=first,
        by=coordinator,
        via=Face.ADMIN,
    )

    assert follow_up.care_request == request
    assert follow_up.follows == first


def test_a_closed_request_takes_no_booking(patient, practitioner):
    request = CareRequestFactory(patient=patient, state=State.CLOSED)

    with pytest.raises(ValidationError) as error:
        book(patient, practitioner, slot_after(practitioner), care_request=request)

    assert error_codes(error.value) == {"care_request_closed"}


def test_another_patients_request_is_refused(patient, other_patient, practitioner):
    request = CareRequestFactory(patient=other_patient, state=State.PROPOSED)

    with pytest.raises(ValidationError) as error:
        book(patient, practitioner, slot_after(practitioner), care_request=request)

    assert error_codes(error.value) == {"foreign_care_request"}


def test_cancelling_sends_the_request_back_to_the_search(
    patient, practitioner, care_request
):
    appointment = book(
        patient, practitioner, slot_after(practitioner), care_request=care_request
    )

    services.cancel_appointment(
        appointment=appointment, by=patient.user, via=Face.PORTAL, reason="Voyage"
    )

    care_request.refresh_from_db()
    assert care_request.state == State.MATCHING


def test_moving_keeps_the_request_scheduled_on_the_new_appointment(
    patient, practitioner, care_request
):
    slots = free_slots(practitioner, after=timezone.now() + timedelta(days=4))
    old = book(patient, practitioner, slots[0], care_request=care_request)

    new = services.reschedule_appointment(
        appointment=old,
        starts_at=slots[2].starts_at,
        by=patient.user,
        via=Face.PORTAL,
        reason="Travail",
    )

    care_request.refresh_from_db()
    assert care_request.state == State.SCHEDULED
    assert care_request.appointment_reference == str(new.public_id)
    assert new.care_request == care_request


def test_done_then_report_moves_the_request_to_care_then_follow_up(
    patient, coordinator
):
    request = CareRequestFactory(patient=patient, state=State.SCHEDULED)
    appointment = AppointmentFactory(
        patient=patient,
        care_request=request,
        starts_at=timezone.now() - timedelta(hours=1),
    )

    services.mark_done(appointment=appointment, by=coordinator, via=Face.ADMIN)
    request.refresh_from_db()
    assert request.state == State.IN_CARE

    services.receive_report(
        report=appointment.report_request,
        upload=SimpleUploadedFile("cr.pdf", PDF_BYTES, "application/pdf"),
        by=None,
    )
    request.refresh_from_db()
    assert request.state == State.FOLLOW_UP


def test_a_missed_appointment_sends_the_request_back_to_the_search(
    patient, coordinator, practitioner, care_request
):
    appointment = book(
        patient, practitioner, slot_after(practitioner), care_request=care_request
    )
    appointment.starts_at = timezone.now() - timedelta(minutes=30)
    type(appointment).objects.filter(pk=appointment.pk).update(
        starts_at=appointment.starts_at,
        ends_at=appointment.starts_at + timedelta(minutes=30),
    )

    services.record_no_show(appointment=appointment, by=coordinator, via=Face.ADMIN)

    care_request.refresh_from_db()
    assert care_request.state == State.MATCHING


def test_closing_a_request_waits_for_its_pending_appointments(
    patient, practitioner, care_request
):
    appointment = book(
        patient, practitioner, slot_after(practitioner), care_request=care_request
    )

    items = care_requests.open_items(care_request)

    assert [item.reference for item in items if item.kind == "appointment"] == [
        str(appointment.public_id)
    ]
