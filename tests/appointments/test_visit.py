"""Before and after the visit: checklist, the pre-consultation file behind an
expiring, single-practitioner, audited link; the report; prescriptions."""

from datetime import timedelta

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone

from appointments import checklists, links, services
from appointments.models import Face, PharmacyChoice
from conciergerie.audit.models import AccessLog
from conciergerie.notifications.models import Message
from patients.models import Document
from tests.appointments.conftest import error_codes
from tests.appointments.factories import (
    AppointmentFactory,
    PharmacyFactory,
    slot_after,
)
from tests.factories import UserFactory
from tests.patients.factories import PDF_BYTES, DocumentFactory


def path_of(url: str) -> str:
    return url.removeprefix("http://127.0.0.1:8000")


@pytest.fixture
def appointment(patient, practitioner):
    slot = slot_after(practitioner, hours=72)
    return services.book_appointment(
        patient=patient,
        practitioner=practitioner,
        kind=slot.kind,
        starts_at=slot.starts_at,
        by=patient.user,
        via=Face.PORTAL,
    )


def share_link(share) -> str:
    return reverse(
        "appointments:pre-consultation",
        kwargs={
            "token": links.make_token(links.Purpose.PRE_CONSULTATION, share.public_id)
        },
    )


# --- Checklist ---------------------------------------------------------------------


def test_the_checklist_adds_the_specialtys_items_and_its_usual_exams(appointment):
    items = checklists.checklist_for(appointment)
    codes = [item.code for item in items]

    assert {"vitale", "mutuelle", "referral"} <= set(codes)
    assert "ecg" in codes  # cardiology
    exams = next(item for item in items if item.code == "previous-exams")
    assert "lectrocardiogramme" in str(exams.text) or "ECG" in str(exams.text)


def test_a_video_visit_adds_the_device_check(patient, practitioner):
    slot = slot_after(practitioner, kind="teleconsultation")
    appointment = services.book_appointment(
        patient=patient,
        practitioner=practitioner,
        kind=slot.kind,
        starts_at=slot.starts_at,
        by=patient.user,
        via=Face.PORTAL,
    )

    items = {item.code: item for item in checklists.checklist_for(appointment)}

    assert items["device-check"].link == reverse("teleconsult:device-check")
    assert "early" not in items


def test_the_patient_ticks_what_is_ready(appointment, patient):
    services.tick_checklist(
        appointment=appointment, codes=["vitale", "unknown", "ecg"], by=patient.user
    )

    appointment.refresh_from_db()
    assert appointment.checklist_done == ["ecg", "vitale"]


# --- The pre-consultation file ------------------------------------------------------


def test_sharing_the_file_emails_the_practitioner_a_link_and_audits_it(
    appointment, patient
):
    document = DocumentFactory(patient=patient)

    share = services.share_pre_consultation_file(
        appointment=appointment, by=patient.user, documents=[document]
    )

    assert share.expires_at > appointment.ends_at
    message = Message.objects.get(template="appointments/messages/pre_consultation")
    assert message.to == "cabinet@example.fr"
    assert "/appointments/file/" in message.context["link"]
    assert AccessLog.objects.filter(
        patient_ref=patient.reference, action=AccessLog.Action.SHARE
    ).exists()


def test_only_the_patients_side_or_an_adviser_may_share(appointment, coordinator):
    with pytest.raises(PermissionDenied):
        services.share_pre_consultation_file(
            appointment=appointment, by=coordinator, documents=[]
        )


def test_another_patients_document_cannot_be_shared(
    appointment, patient, other_patient
):
    with pytest.raises(ValidationError) as error:
        services.share_pre_consultation_file(
            appointment=appointment,
            by=patient.user,
            documents=[DocumentFactory(patient=other_patient)],
        )

    assert error_codes(error.value) == {"foreign_document"}


def test_every_opening_of_the_link_is_audited(client, appointment, patient):
    document = DocumentFactory(patient=patient)
    share = services.share_pre_consultation_file(
        appointment=appointment, by=patient.user, documents=[document]
    )
    before = AccessLog.objects.filter(patient_ref=patient.reference).count()

    first = client.get(share_link(share))
    second = client.get(share_link(share))
    download = client.get(
        reverse(
            "appointments:pre-consultation-document",
            kwargs={
                "token": links.make_token(
                    links.Purpose.PRE_CONSULTATION, share.public_id
                ),
                "document_id": document.pk,
            },
        )
    )

    assert first.status_code == second.status_code == download.status_code == 200
    assert download.content == PDF_BYTES
    rows = AccessLog.objects.filter(patient_ref=patient.reference).order_by("pk")[
        before:
    ]
    assert [row.action for row in rows] == ["read", "read", "download"]
    assert all(row.actor_label == appointment.practitioner.display_name for row in rows)
    share.refresh_from_db()
    assert share.opened_count == 2


def test_the_summary_pdf_opens_from_the_link(client, appointment, patient):
    share = services.share_pre_consultation_file(
        appointment=appointment, by=patient.user, documents=[]
    )

    response = client.get(
        reverse(
            "appointments:pre-consultation-summary",
            kwargs={
                "token": links.make_token(
                    links.Purpose.PRE_CONSULTATION, share.public_id
                )
            },
        )
    )

    assert response.status_code == 200
    assert response.content.startswith(b"%PDF")


def test_an_expired_link_is_refused_clearly(client, appointment, patient):
    share = services.share_pre_consultation_file(
        appointment=appointment, by=patient.user, documents=[]
    )
    type(share).objects.filter(pk=share.pk).update(
        expires_at=timezone.now() - timedelta(minutes=1)
    )
    before = AccessLog.objects.count()

    response = client.get(share_link(share))

    assert response.status_code == 410
    assert AccessLog.objects.count() == before


def test_a_revoked_link_is_refused(client, appointment, patient):
    share = services.share_pre_consultation_file(
        appointment=appointment, by=patient.user, documents=[]
    )
    services.revoke_pre_consultation_file(share=share, by=patient.user)

    assert client.get(share_link(share)).status_code == 410


def test_the_link_opens_for_its_practitioner_only(client, appointment, patient):
    doctor = UserFactory(role="practitioner")
    appointment.practitioner.user = doctor
    appointment.practitioner.save(update_fields=["user"])
    share = services.share_pre_consultation_file(
        appointment=appointment, by=patient.user, documents=[]
    )

    assert client.get(share_link(share)).status_code == 403  # not signed in
    client.force_login(UserFactory(role="practitioner"))
    assert client.get(share_link(share)).status_code == 403  # someone else
    client.force_login(doctor)
    assert client.get(share_link(share)).status_code == 200


def test_a_forged_link_is_refused(client):
    response = client.get(
        reverse("appointments:pre-consultation", kwargs={"token": "forged.token.x"})
    )

    assert response.status_code == 404


# --- The report -----------------------------------------------------------------------


@pytest.fixture
def done(patient, coordinator):
    appointment = AppointmentFactory(
        patient=patient, starts_at=timezone.now() - timedelta(hours=2)
    )
    services.mark_done(appointment=appointment, by=coordinator, via=Face.ADMIN)
    appointment.refresh_from_db()
    return appointment


def test_the_practitioner_uploads_the_report_through_the_link(client, done, patient):
    url = path_of(services.report_upload_url(done.report_request))

    response = client.post(
        url, {"file": SimpleUploadedFile("cr.pdf", PDF_BYTES, "application/pdf")}
    )

    assert response.status_code == 302
    report = done.report_request
    report.refresh_from_db()
    assert report.is_received
    assert report.document.kind == Document.Kind.CONSULTATION_REPORT
    assert report.document.patient == patient
    assert Message.objects.filter(
        template="appointments/messages/report_available"
    ).exists()
    assert client.get(url).status_code == 200


def test_a_refused_file_files_nothing(client, done):
    url = path_of(services.report_upload_url(done.report_request))

    response = client.post(
        url, {"file": SimpleUploadedFile("cr.exe", b"MZ\x90\x00", "application/pdf")}
    )

    assert response.status_code == 200
    done.report_request.refresh_from_db()
    assert not done.report_request.is_received


def test_late_reports_are_chased_three_times_at_most(done, settings):
    settings.APPOINTMENT_REPORT_CHASE_DAYS = 7
    report = done.report_request

    chased = [
        services.chase_missing_reports(now=timezone.now() + timedelta(days=days))
        for days in (3, 8, 8, 15, 22, 29, 36)
    ]

    assert chased == [0, 1, 0, 1, 1, 0, 0]
    report.refresh_from_db()
    assert report.reminders_sent == 3
    assert (
        Message.objects.filter(template="appointments/messages/report_request").count()
        == 4
    )


# --- Prescriptions --------------------------------------------------------------------


def test_a_prescription_goes_to_the_chosen_pharmacy_with_an_audited_link(
    client, done, patient
):
    pharmacy = PharmacyFactory()
    services.choose_pharmacy(patient=patient, pharmacy=pharmacy, by=patient.user)
    prescription = DocumentFactory(patient=patient, kind=Document.Kind.PRESCRIPTION)

    transmission = services.send_prescription(
        patient=patient, document=prescription, appointment=done, by=patient.user
    )

    message = Message.objects.get(template="appointments/messages/prescription")
    assert message.to == pharmacy.email
    assert transmission.pharmacy_email == pharmacy.email
    response = client.post(path_of(message.context["link"]))
    assert response.status_code == 200
    assert response.content == PDF_BYTES
    assert AccessLog.objects.filter(
        patient_ref=patient.reference,
        action=AccessLog.Action.DOWNLOAD,
        actor_label=pharmacy.name,
    ).exists()


def test_only_a_prescription_can_be_sent_and_a_pharmacy_is_needed(patient):
    results = DocumentFactory(patient=patient, kind=Document.Kind.RESULTS)
    prescription = DocumentFactory(patient=patient, kind=Document.Kind.PRESCRIPTION)

    with pytest.raises(ValidationError) as wrong_kind:
        services.send_prescription(patient=patient, document=results, by=patient.user)
    with pytest.raises(ValidationError) as no_pharmacy:
        services.send_prescription(
            patient=patient, document=prescription, by=patient.user
        )

    assert error_codes(wrong_kind.value) == {"not_a_prescription"}
    assert error_codes(no_pharmacy.value) == {"no_pharmacy_chosen"}
    assert not PharmacyChoice.objects.exists()


def test_an_expired_prescription_link_is_refused(client, patient):
    pharmacy = PharmacyFactory()
    prescription = DocumentFactory(patient=patient, kind=Document.Kind.PRESCRIPTION)
    transmission = services.send_prescription(
        patient=patient, document=prescription, pharmacy=pharmacy, by=patient.user
    )
    type(transmission).objects.filter(pk=transmission.pk).update(
        expires_at=timezone.now() - timedelta(minutes=1)
    )
    link = Message.objects.get(template__endswith="prescription").context["link"]

    assert client.post(path_of(link)).status_code == 410
