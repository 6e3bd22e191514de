"""Teleconsultation sessions: the room made at booking, tokens, the join window,
admission, documents, the end that runs the appointment's follow-up."""

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from appointments import services as appointment_services
from appointments.models import Appointment, Face, ReportRequest
from appointments.surveys_models import SatisfactionSurvey
from conciergerie.audit.models import AccessLog
from conciergerie.notifications.models import Message
from patients.models import Document
from specialists.models import ConsultationType
from teleconsult import services
from teleconsult.models import (
    SessionEvent,
    SharedDocument,
    SupportTicket,
    TeleconsultationSession,
)
from teleconsult.services import sessions
from teleconsult.video import decode_token
from tests.appointments.factories import open_practitioner, slot_after
from tests.patients.factories import PDF_BYTES, PNG_BYTES
from tests.teleconsult.conftest import FakeProvider, make_video_appointment

State = TeleconsultationSession.State


def _patient_side(appointment):
    return sessions.patient_visitor(appointment.patient.user, appointment, via="portal")


def _practitioner_side(appointment):
    return sessions.practitioner_visitor(None, appointment, via="pass")


def test_booking_a_video_slot_creates_its_room_and_puts_the_join_link_in_messages(
    patient, django_capture_on_commit_callbacks
):
    practitioner = open_practitioner()
    slot = slot_after(practitioner, kind=ConsultationType.Kind.TELECONSULTATION)

    with django_capture_on_commit_callbacks(execute=False):
        appointment = appointment_services.book_appointment(
            patient=patient,
            practitioner=practitioner,
            kind=ConsultationType.Kind.TELECONSULTATION,
            starts_at=slot.starts_at,
            by=patient.user,
            via=Face.PORTAL,
        )

    session = TeleconsultationSession.objects.get(appointment=appointment)
    assert session.state == State.WAITING
    assert len(session.room) >= 32
    confirmation = Message.objects.get(
        template="appointments/messages/confirmation", channel="email"
    )
    assert "/teleconsultations/j/" in confirmation.context["join_url"]


def test_an_in_person_booking_has_no_room(patient):
    practitioner = open_practitioner()
    slot = slot_after(practitioner)

    appointment = appointment_services.book_appointment(
        patient=patient,
        practitioner=practitioner,
        kind=ConsultationType.Kind.FIRST_VISIT,
        starts_at=slot.starts_at,
        place=practitioner.places.first(),
        by=patient.user,
        via=Face.PORTAL,
    )

    assert not TeleconsultationSession.objects.filter(appointment=appointment).exists()


def test_a_held_video_slot_gets_its_room_when_confirmed(patient):
    practitioner = open_practitioner()
    slot = slot_after(practitioner, kind=ConsultationType.Kind.TELECONSULTATION)
    held = appointment_services.book_appointment(
        patient=patient,
        practitioner=practitioner,
        kind=ConsultationType.Kind.TELECONSULTATION,
        starts_at=slot.starts_at,
        by=patient.user,
        via=Face.PORTAL,
        hold=True,
    )
    assert not TeleconsultationSession.objects.filter(appointment=held).exists()

    appointment_services.confirm_hold(
        appointment=held, by=patient.user, via=Face.PORTAL
    )

    assert TeleconsultationSession.objects.filter(appointment=held).exists()


# --- Tokens --------------------------------------------------------------------------


def test_the_patient_token_is_a_guest_pass_to_this_room_until_the_window_closes(
    session,
):
    appointment = session.appointment

    info = sessions.video_join(session, visitor=_patient_side(appointment))

    claims = decode_token(info.token)
    opens, closes = sessions.window_of(appointment)
    assert info.domain == "meet.conciergerie.local"
    assert info.room == session.room
    assert claims["room"] == session.room
    assert claims["moderator"] is False
    assert claims["context"]["user"]["affiliation"] == "member"
    assert claims["context"]["user"]["id"] == appointment.patient.reference
    assert claims["context"]["room"]["lobby"] is True
    assert claims["nbf"] == int(opens.timestamp())
    assert claims["exp"] == int(closes.timestamp())


def test_the_practitioner_token_makes_them_moderator_of_the_same_room(session):
    info = sessions.video_join(session, visitor=_practitioner_side(session.appointment))

    claims = decode_token(info.token)
    assert claims["room"] == session.room
    assert claims["moderator"] is True
    assert claims["context"]["user"]["affiliation"] == "owner"


# --- The join window -----------------------------------------------------------------


def test_the_room_opens_fifteen_minutes_before_and_closes_after_the_end_plus_margin(
    session,
):
    appointment = session.appointment
    opens, closes = sessions.window_of(appointment)
    assert opens == appointment.starts_at - timedelta(minutes=15)
    assert closes == appointment.ends_at + timedelta(minutes=30)

    with pytest.raises(sessions.Refused) as early:
        sessions.check_window(session, now=opens - timedelta(seconds=1))
    sessions.check_window(session, now=opens)
    sessions.check_window(session, now=closes - timedelta(seconds=1))
    with pytest.raises(sessions.Refused) as late:
        sessions.check_window(session, now=closes)

    assert early.value.reason == sessions.TOO_EARLY
    assert early.value.at == opens
    assert late.value.reason == sessions.CLOSED


def test_a_cancelled_appointment_cannot_be_joined(patient):
    appointment = make_video_appointment(patient=patient, starts_in=10)
    session = TeleconsultationSession.objects.get(appointment=appointment)
    appointment_services.cancel_appointment(
        appointment=appointment,
        by=None,
        via=Face.ADMIN,
        reason="Le patient a appelé",
    )
    session.appointment.refresh_from_db()

    with pytest.raises(sessions.Refused) as refused:
        sessions.check_window(session)

    assert refused.value.reason == sessions.NOT_JOINABLE


def test_every_join_is_audited_and_timed(session):
    appointment = session.appointment

    sessions.record_join(session=session, visitor=_patient_side(appointment))
    sessions.record_join(session=session, visitor=_patient_side(appointment))

    rows = AccessLog.objects.filter(
        object_type="teleconsultation", object_id=str(session.public_id)
    )
    assert rows.count() == 2
    assert rows.first().patient_ref == appointment.patient.reference
    session.refresh_from_db()
    assert session.patient_arrived_at is not None
    assert session.events.filter(action=SessionEvent.Action.PATIENT_JOINED).count() == 2


# --- Waiting room, admission, end ----------------------------------------------------


def test_the_patient_waits_in_line_behind_a_consultation_in_progress(patient):
    practitioner = open_practitioner()
    first = make_video_appointment(practitioner=practitioner, starts_in=-20)
    mine = make_video_appointment(
        patient=patient, practitioner=practitioner, starts_in=0
    )
    first_session = TeleconsultationSession.objects.get(appointment=first)
    my_session = TeleconsultationSession.objects.get(appointment=mine)
    sessions.record_join(session=first_session, visitor=_patient_side(first))
    sessions.record_join(session=my_session, visitor=_patient_side(mine))
    assert sessions.queue_position(my_session) == 2

    sessions.admit_patient(session=first_session, by=_practitioner_side(first))

    my_session.refresh_from_db()
    assert sessions.queue_position(my_session) == 2
    assert sessions.practitioner_status(my_session) == "in_consultation"
    sessions.end_session(session=first_session, by=_practitioner_side(first))
    assert sessions.queue_position(my_session) == 1


def test_admitting_opens_the_session_and_says_who_and_when(session):
    appointment = session.appointment

    sessions.admit_patient(session=session, by=_practitioner_side(appointment))

    session.refresh_from_db()
    assert session.state == State.IN_PROGRESS
    assert session.patient_admitted is True
    assert session.admitted_at is not None
    assert session.events.filter(action=SessionEvent.Action.ADMITTED).exists()


def test_ending_marks_the_appointment_done_and_files_the_report_and_prescription(
    session, django_capture_on_commit_callbacks
):
    appointment = session.appointment
    practitioner = _practitioner_side(appointment)
    sessions.admit_patient(session=session, by=practitioner)
    sessions.save_notes(
        session=session,
        by=practitioner,
        report="Examen rassurant. Contrôle dans six mois.",
        prescription="Paracétamol 1 g, trois fois par jour, cinq jours.",
    )

    with django_capture_on_commit_callbacks(execute=False):
        sessions.end_session(session=session, by=practitioner)

    session.refresh_from_db()
    appointment.refresh_from_db()
    assert session.state == State.ENDED
    assert session.ended_at is not None
    assert session.closed_by_label == appointment.practitioner.display_name
    assert appointment.state == Appointment.State.DONE
    report = ReportRequest.objects.get(appointment=appointment)
    assert report.is_received
    assert session.report_document == report.document
    assert report.document.kind == Document.Kind.CONSULTATION_REPORT
    assert session.prescription_document.kind == Document.Kind.PRESCRIPTION
    assert session.prescription_document.patient == appointment.patient
    assert SatisfactionSurvey.objects.filter(appointment=appointment).count() == 1
    # The report is in: the practitioner is not asked to upload it.
    request_mail = Message.objects.get(template="appointments/messages/report_request")
    assert request_mail.state == Message.State.CANCELLED


def test_ending_twice_changes_nothing(session):
    practitioner = _practitioner_side(session.appointment)
    sessions.end_session(session=session, by=practitioner)

    again = sessions.end_session(session=session, by=practitioner)

    assert again.state == State.ENDED
    assert session.events.filter(action=SessionEvent.Action.ENDED).count() == 1


def test_a_patient_who_never_came_is_recorded_on_the_session_and_the_appointment(
    session,
):
    sessions.record_no_show(session=session, by=_practitioner_side(session.appointment))

    session.refresh_from_db()
    session.appointment.refresh_from_db()
    assert session.state == State.NO_SHOW
    assert session.no_show_at is not None
    assert session.appointment.state == Appointment.State.NO_SHOW


def test_no_show_cannot_be_recorded_before_the_start(patient):
    appointment = make_video_appointment(patient=patient, starts_in=10)
    session = TeleconsultationSession.objects.get(appointment=appointment)

    with pytest.raises(ValidationError) as error:
        sessions.record_no_show(session=session, by=_practitioner_side(appointment))

    assert error.value.code == "not_missable"


# --- Documents -----------------------------------------------------------------------


def test_a_shared_picture_lands_in_the_patients_documents_and_is_audited(session):
    appointment = session.appointment
    upload = SimpleUploadedFile("grain.png", PNG_BYTES, content_type="image/png")

    shared = sessions.share_document(
        session=session, by=_patient_side(appointment), upload=upload, title="Grain"
    )

    document = shared.document
    assert document.patient == appointment.patient
    assert document.kind == Document.Kind.PHOTO
    assert shared.side == SharedDocument.Side.PATIENT
    assert AccessLog.objects.filter(
        action=AccessLog.Action.CREATE,
        object_id=str(document.pk),
        patient_ref=appointment.patient.reference,
    ).exists()


def test_a_patient_without_consent_cannot_share(session):
    appointment = session.appointment
    appointment.patient.health_data_consents.update(withdrawn_at=timezone.now())
    upload = SimpleUploadedFile("cr.pdf", PDF_BYTES, content_type="application/pdf")

    with pytest.raises(ValidationError):
        sessions.share_document(
            session=session, by=_practitioner_side(appointment), upload=upload
        )

    assert not SharedDocument.objects.exists()


# --- When the video server is down ----------------------------------------------------


def test_the_phone_fallback_makes_one_ticket_and_alerts_the_concierge(
    session, settings, mailoutbox, django_capture_on_commit_callbacks
):
    settings.ON_DUTY_EMAIL = "garde@conciergerie.local"
    FakeProvider.reachable = False
    visitor = _patient_side(session.appointment)
    assert sessions.video_reachable() is False

    with django_capture_on_commit_callbacks(execute=True):
        first = services.request_phone_fallback(session=session, by=visitor)
        second = services.request_phone_fallback(session=session, by=visitor)

    assert first == second
    assert first.kind == SupportTicket.Kind.PHONE_FALLBACK
    assert first.phone == session.appointment.patient.mobile_phone.as_e164
    assert [m.to for m in mailoutbox] == [["garde@conciergerie.local"]]
    assert first.phone in mailoutbox[0].body
