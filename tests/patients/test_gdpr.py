"""GDPR rights: export, erasure (pseudonymisation), purge after retention."""

import datetime
import io
import json
import zipfile
from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.core.files.storage import default_storage
from django.utils import timezone

from conciergerie.accounts.models import User
from conciergerie.audit.models import AccessLog
from patients import services
from patients.models import (
    Document,
    ErasureRequest,
    Guardianship,
    InsuranceCoverage,
    MedicalProfile,
    Patient,
    SharingConsent,
)
from tests.patients.factories import (
    PDF_BYTES,
    PNG_BYTES,
    DocumentFactory,
    ErasureRequestFactory,
    GuardianshipFactory,
    InsuranceCoverageFactory,
    MedicalProfileFactory,
    PatientFactory,
    SharingConsentFactory,
)


@pytest.fixture
def full_file(patient, practitioner_user):
    MedicalProfileFactory(patient=patient, allergies="Pénicilline")
    InsuranceCoverageFactory(patient=patient)
    report = DocumentFactory(patient=patient, content=PDF_BYTES, title="Compte rendu")
    photo = DocumentFactory(
        patient=patient, content=PNG_BYTES, content_type="image/png", kind="photo"
    )
    SharingConsentFactory(patient=patient, recipient=practitioner_user)
    return {"report": report, "photo": photo}


def test_the_export_holds_json_a_readable_pdf_and_the_clear_documents(
    patient, full_file
):
    name, archive = services.build_export(patient=patient, by=patient.user)

    bundle = zipfile.ZipFile(io.BytesIO(archive.read()))
    names = bundle.namelist()
    data = json.loads(bundle.read("dossier.json"))
    assert name.startswith(f"dossier-{patient.reference}-")
    assert "dossier.pdf" in names
    assert bundle.read("dossier.pdf").startswith(b"%PDF")
    assert data["reference"] == patient.reference
    assert data["identity"]["last_name"] == "Petit"
    assert data["medical_profile"]["allergies"] == "Pénicilline"
    assert data["insurance"][0]["coverage_rate"] == "200.00"
    assert len(data["documents"]) == 2
    for document in data["documents"]:
        assert document["file"] in names
    report_file = next(
        d["file"] for d in data["documents"] if d["title"] == "Compte rendu"
    )
    assert bundle.read(report_file) == PDF_BYTES
    assert data["sharing_consents"][0]["revoked_at"] is None


def test_the_export_is_audited_once(patient, full_file):
    before = AccessLog.objects.count()

    services.build_export(patient=patient, by=patient.user)

    rows = AccessLog.objects.all()[: AccessLog.objects.count() - before]
    assert [r.action for r in rows] == [AccessLog.Action.EXPORT]


def test_an_erasure_request_tells_the_concierges(
    patient, mailoutbox, django_capture_on_commit_callbacks, settings
):
    with django_capture_on_commit_callbacks(execute=True):
        erasure = services.request_erasure(
            patient=patient, by=patient.user, message="Je quitte le service"
        )

    assert erasure.state == ErasureRequest.State.REQUESTED
    assert mailoutbox[0].to == [settings.SERVICE_EMAIL]
    assert patient.reference in mailoutbox[0].subject
    assert "Je quitte" not in mailoutbox[0].body  # no patient words in email


def test_one_open_erasure_request_at_a_time(patient):
    services.request_erasure(patient=patient, by=patient.user)

    with pytest.raises(ValidationError) as error:
        services.request_erasure(patient=patient, by=patient.user)

    assert error.value.code == "erasure_already_requested"


def test_erasure_pseudonymises_contact_and_keeps_the_medical_record(
    patient, full_file, coordinator, mailoutbox, django_capture_on_commit_callbacks
):
    user = patient.user
    email = patient.email
    patient.city = "Bordeaux"
    patient.save()  # a history row holding the address
    erasure = ErasureRequestFactory(patient=patient)

    with django_capture_on_commit_callbacks(execute=True):
        services.carry_out_erasure(erasure=erasure, by=coordinator)

    patient = Patient.objects.get(pk=patient.pk)
    assert patient.erased_at is not None
    assert patient.last_name == "ANONYME"
    assert patient.first_names == patient.reference
    assert (patient.email, patient.city, patient.address_line) == ("", "", "")
    assert not patient.mobile_phone
    assert patient.user is None
    # nothing of the old identity left in the change history
    assert {h.city for h in patient.history.all()} == {""}
    assert not patient.history.filter(last_name="Petit").exists()
    # the account is closed and no longer carries the email
    user = User.objects.get(pk=user.pk)
    assert not user.is_active
    assert user.email != email
    assert not user.has_usable_password()
    # medical record kept, insurance and sharings gone
    assert MedicalProfile.objects.get(patient=patient).allergies == "Pénicilline"
    assert Document.objects.filter(patient=patient).count() == 2
    assert not InsuranceCoverage.objects.filter(patient=patient).exists()
    assert not InsuranceCoverage.history.filter(patient_id=patient.pk).exists()
    assert not SharingConsent.objects.active().filter(patient=patient).exists()
    # the outcome says what was erased and kept, and why
    erasure.refresh_from_db()
    assert erasure.state == ErasureRequest.State.COMPLETED
    assert "contact" in erasure.outcome["erased"]
    assert {k["what"] for k in erasure.outcome["kept"]} >= {"medical_record"}
    assert mailoutbox[0].to == [email]
    assert "dossier médical" in mailoutbox[0].body.lower()


def test_a_parent_erasing_their_file_keeps_their_account_for_the_children(
    patient, coordinator
):
    child = GuardianshipFactory(guardian=patient.user).patient
    erasure = ErasureRequestFactory(patient=patient)

    services.carry_out_erasure(erasure=erasure, by=coordinator)

    guardian = User.objects.get(pk=patient.user_id or erasure.requested_by_id)
    assert guardian.is_active
    assert list(Patient.objects.visible_to(guardian)) == [child]


def test_refusing_an_erasure_needs_a_reason_for_the_patient(patient, coordinator):
    erasure = ErasureRequestFactory(patient=patient)

    with pytest.raises(ValidationError) as error:
        services.reject_erasure(erasure=erasure, by=coordinator, response=" ")
    services.reject_erasure(
        erasure=erasure,
        by=coordinator,
        response="Un litige de facturation est en cours.",
    )

    assert error.value.error_dict["response"][0].code == "response_required"
    erasure.refresh_from_db()
    assert erasure.state == ErasureRequest.State.REJECTED


def test_an_erasure_is_carried_out_once(patient, coordinator):
    erasure = ErasureRequestFactory(patient=patient)
    services.carry_out_erasure(erasure=erasure, by=coordinator)

    with pytest.raises(ValidationError) as error:
        services.carry_out_erasure(erasure=erasure, by=coordinator)

    assert error.value.code == "erasure_not_open"


def test_the_retention_period_runs_from_the_last_activity(patient, settings):
    settings.MEDICAL_RECORD_RETENTION_YEARS = 20
    patient.last_activity_at = timezone.now().replace(year=2026, month=6, day=1)

    assert patient.retention_ends_on() == datetime.date(2046, 6, 1)


def test_a_minor_record_is_kept_at_least_until_age_28(db, settings):
    settings.MEDICAL_RECORD_RETENTION_YEARS = 5
    child = PatientFactory(minor=True, birth_date=datetime.date(2020, 1, 15))
    child.last_activity_at = timezone.now().replace(year=2026, month=6, day=1)

    assert child.retention_ends_on() == datetime.date(2048, 1, 15)


def test_the_purge_deletes_records_past_retention_and_keeps_the_others(
    patient, settings, django_capture_on_commit_callbacks
):
    settings.MEDICAL_RECORD_RETENTION_YEARS = 20
    old = PatientFactory(consented=True, birth_date=datetime.date(1950, 1, 1))
    MedicalProfileFactory(patient=old)
    document = DocumentFactory(patient=old)
    long_ago = timezone.now() - timedelta(days=365 * 21)
    Patient.objects.filter(pk=old.pk).update(last_activity_at=long_ago)
    MedicalProfileFactory(patient=patient)

    with django_capture_on_commit_callbacks(execute=True):
        purged = services.purge_expired_medical_records()
    again = services.purge_expired_medical_records()

    old.refresh_from_db()
    assert (purged, again) == (1, 0)
    assert old.purged_at is not None
    assert old.nir == ""
    assert not MedicalProfile.objects.filter(patient=old).exists()
    assert not MedicalProfile.history.filter(patient_id=old.pk).exists()
    assert not Document.objects.filter(patient=old).exists()
    assert not default_storage.exists(document.storage_name)
    assert MedicalProfile.objects.filter(patient=patient).exists()
    row = AccessLog.objects.get(action=AccessLog.Action.PURGE)
    assert (row.patient_ref, row.actor, row.face) == (old.reference, None, "system")


def test_the_daily_task_runs_purge_and_majority(patient_user):
    from patients import tasks

    GuardianshipFactory(
        guardian=patient_user,
        patient=PatientFactory(birth_date=datetime.date(2001, 1, 1)),
    )

    result = tasks.purge_expired_medical_records.delay().get()

    assert result == {"guardianships_ended": 1, "files_purged": 0, "orphans": 0}
    assert not Guardianship.objects.active().exists()


def test_orphan_files_left_by_a_rollback_are_swept_once_old(patient, settings):
    import os
    import time

    from patients import files

    document = DocumentFactory(patient=patient)
    orphan = files.store_encrypted(data=PDF_BYTES, folder=str(patient.pk))
    fresh = files.store_encrypted(data=PDF_BYTES, folder=str(patient.pk))
    old = time.time() - 3 * 86400
    os.utime(settings.MEDIA_ROOT / orphan, (old, old))

    swept = services.sweep_orphan_files()

    assert swept == 1
    assert not default_storage.exists(orphan)
    assert default_storage.exists(fresh)  # may belong to an upload in progress
    assert default_storage.exists(document.storage_name)
