"""Documents are checked before anything is stored; consents gate and share them."""

import os

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile

from conciergerie.accounts.roles import Role
from conciergerie.audit.models import AccessLog
from patients import services
from patients.models import Channel, Document, HealthDataConsent, SharingConsent
from tests.factories import UserFactory
from tests.patients.factories import (
    PDF_BYTES,
    PNG_BYTES,
    DocumentFactory,
    PatientFactory,
)

JPEG_BYTES = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + b"\x00" * 64
DICOM_BYTES = b"\x00" * 128 + b"DICM" + b"\x00" * 32
HEIC_BYTES = b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic"


def _upload(patient, content: bytes, name: str = "fichier.pdf", **kwargs) -> Document:
    return services.upload_document(
        patient=patient,
        by=patient.user,
        upload=SimpleUploadedFile(name, content, "application/pdf"),
        kind=kwargs.pop("kind", Document.Kind.RESULTS),
        channel=Channel.PORTAL,
        **kwargs,
    )


def _stored_files(media_root) -> list[str]:
    return [
        os.path.join(folder, name)
        for folder, _dirs, names in os.walk(media_root)
        for name in names
    ]


@pytest.mark.parametrize(
    ("content", "content_type"),
    [
        (PDF_BYTES, "application/pdf"),
        (PNG_BYTES, "image/png"),
        (JPEG_BYTES, "image/jpeg"),
        (DICOM_BYTES, "application/dicom"),
        (HEIC_BYTES, "image/heic"),
    ],
)
def test_the_real_type_is_read_from_the_content(patient, content, content_type):
    document = _upload(patient, content, name="photo.exe.pdf")

    assert document.content_type == content_type
    assert document.size == len(content)
    assert services.open_document(document=document, by=patient.user) == content


def test_an_executable_is_refused_whatever_its_name_and_nothing_is_stored(
    patient, settings
):
    with pytest.raises(ValidationError) as error:
        _upload(patient, b"MZ\x90\x00\x03" + b"\x00" * 100, name="compte-rendu.pdf")

    assert error.value.error_dict["file"][0].code == "executable_file"
    assert "programmes" in error.value.error_dict["file"][0].messages[0].lower()
    assert not Document.objects.exists()
    assert _stored_files(settings.MEDIA_ROOT) == []
    assert not AccessLog.objects.filter(object_type="document").exists()


@pytest.mark.parametrize(
    "content", [b"#!/bin/sh\nrm -rf /\n", b"\x7fELF\x02\x01\x01" + b"\x00" * 20]
)
def test_scripts_and_linux_programs_are_refused(patient, content):
    with pytest.raises(ValidationError) as error:
        _upload(patient, content)

    assert error.value.error_dict["file"][0].code == "executable_file"


def test_an_oversized_file_is_refused_with_the_limit_and_nothing_is_stored(
    patient, settings
):
    settings.DOCUMENT_MAX_UPLOAD_BYTES = 1024

    with pytest.raises(ValidationError) as error:
        _upload(patient, PDF_BYTES + b"0" * 2048)

    message = error.value.error_dict["file"][0]
    assert message.code == "file_too_large"
    assert "trop volumineux" in message.messages[0]
    assert "1,0\xa0Kio" in message.messages[0]
    assert _stored_files(settings.MEDIA_ROOT) == []


def test_an_unsupported_type_is_refused_with_the_accepted_list(patient):
    with pytest.raises(ValidationError) as error:
        _upload(patient, b"PK\x03\x04 a zip file", name="archive.zip")

    assert error.value.error_dict["file"][0].code == "unsupported_file_type"
    assert "Formats acceptés : PDF" in error.value.error_dict["file"][0].messages[0]


def test_an_empty_file_is_refused(patient):
    with pytest.raises(ValidationError) as error:
        _upload(patient, b"")

    assert error.value.error_dict["file"][0].code == "empty_file"


def test_no_document_without_consent_to_process_health_data(db, settings):
    patient = PatientFactory(user=UserFactory(role=Role.PATIENT))

    with pytest.raises(ValidationError) as error:
        _upload(patient, PDF_BYTES)

    assert error.value.code == "health_data_consent_required"
    assert _stored_files(settings.MEDIA_ROOT) == []


def test_a_stored_document_is_audited_once(patient):
    document = _upload(patient, PDF_BYTES, title="Radio du genou")

    row = AccessLog.objects.get()
    assert row.action == AccessLog.Action.CREATE
    assert row.object_id == str(document.pk)
    assert document.title == "Radio du genou"


def test_a_tampered_file_is_not_served(patient):
    from django.core.files.base import ContentFile
    from django.core.files.storage import default_storage

    from conciergerie import crypto
    from patients.files import DocumentUnreadable

    document = DocumentFactory(patient=patient)
    default_storage.delete(document.storage_name)
    default_storage.save(document.storage_name, ContentFile(crypto.encrypt(b"%PDF-x")))

    with pytest.raises(DocumentUnreadable):
        services.open_document(document=document, by=patient.user)


def test_deleting_a_document_removes_its_file_after_commit(
    patient, adviser, django_capture_on_commit_callbacks
):
    from django.core.files.storage import default_storage

    document = DocumentFactory(patient=patient)
    name = document.storage_name

    with django_capture_on_commit_callbacks(execute=True):
        services.delete_document(document=document, by=adviser)

    assert not Document.objects.exists()
    assert not default_storage.exists(name)


# --- Consents -----------------------------------------------------------------------


def test_consent_records_date_notice_version_and_channel(db, settings):
    settings.PRIVACY_NOTICE_VERSION = "2026-03"
    patient = PatientFactory(user=UserFactory(role=Role.PATIENT))

    consent = services.give_health_data_consent(
        patient=patient, by=patient.user, channel=Channel.PORTAL
    )

    assert consent.notice_version == "2026-03"
    assert consent.channel == Channel.PORTAL
    assert consent.given_by == patient.user
    assert services.has_health_data_consent(patient)


def test_consent_given_by_phone_names_the_concierge_who_recorded_it(db, coordinator):
    patient = PatientFactory()

    consent = services.give_health_data_consent(
        patient=patient, by=coordinator, channel=Channel.PHONE
    )

    assert consent.recorded_by == coordinator
    assert consent.given_by is None


def test_consenting_again_to_a_new_notice_replaces_the_old_consent(patient, settings):
    settings.PRIVACY_NOTICE_VERSION = "2027-01"

    services.give_health_data_consent(
        patient=patient, by=patient.user, channel=Channel.PORTAL
    )

    versions = HealthDataConsent.objects.filter(patient=patient)
    assert versions.active().get().notice_version == "2027-01"
    assert versions.count() == 2


def test_withdrawing_consent_stops_every_sharing(patient, practitioner_user):
    services.share_with(patient=patient, recipient=practitioner_user, by=patient.user)

    services.withdraw_health_data_consent(patient=patient, by=patient.user)

    assert not services.has_health_data_consent(patient)
    assert not SharingConsent.objects.active().exists()


def test_sharing_needs_a_practitioner_account(patient, other_patient_user):
    with pytest.raises(ValidationError) as error:
        services.share_with(
            patient=patient, recipient=other_patient_user, by=patient.user
        )

    assert error.value.error_dict["recipient"][0].code == "not_a_practitioner"


def test_sharing_a_document_of_another_file_is_refused(
    patient, other_patient, practitioner_user
):
    foreign = DocumentFactory(patient=other_patient)

    with pytest.raises(ValidationError) as error:
        services.share_with(
            patient=patient,
            recipient=practitioner_user,
            document=foreign,
            by=patient.user,
        )

    assert error.value.error_dict["document"][0].code == "unknown_document"


def test_sharing_twice_is_one_sharing_and_each_is_audited(patient, practitioner_user):
    first = services.share_with(
        patient=patient, recipient=practitioner_user, by=patient.user
    )
    second = services.share_with(
        patient=patient, recipient=practitioner_user, by=patient.user
    )

    assert first == second
    assert AccessLog.objects.filter(action=AccessLog.Action.SHARE).count() == 1


def test_a_practitioner_is_found_by_email_but_not_a_patient(
    practitioner_user, patient_user
):
    assert services.find_recipient(practitioner_user.email.upper()) == practitioner_user
    assert services.find_recipient(patient_user.email) is None
