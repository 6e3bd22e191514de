"""Health data is unreadable in the database and survives a key rotation."""

import pytest
from cryptography.fernet import Fernet
from django.core.exceptions import FieldError
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.db import connection

from conciergerie import crypto
from conciergerie.fields import is_ciphertext
from patients import services
from patients.models import Channel, Document, MedicalProfile, Patient
from tests.patients.factories import (
    PDF_BYTES,
    VALID_NIR,
    DocumentFactory,
    InsuranceCoverageFactory,
    MedicalProfileFactory,
    PatientFactory,
)

SECRET_ALLERGY = "Allergie sévère aux arachides"


def _raw_rows(table: str) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT * FROM {table}")  # noqa: S608
        return cursor.fetchall()


def _all_text(rows) -> str:
    return " ".join(str(value) for row in rows for value in row)


def test_the_medical_profile_table_holds_no_readable_medical_text(patient):
    MedicalProfileFactory(patient=patient, allergies=SECRET_ALLERGY)

    stored = _all_text(_raw_rows("patients_medicalprofile"))

    assert "arachides" not in stored
    assert "Pénicilline" not in stored
    assert "Appendicectomie" not in stored
    assert "gAAAAA" in stored
    assert MedicalProfile.objects.get(patient=patient).allergies == SECRET_ALLERGY


def test_the_change_history_keeps_medical_text_encrypted(patient):
    profile = MedicalProfileFactory(patient=patient, allergies=SECRET_ALLERGY)
    profile.allergies = "Aucune allergie connue"
    profile.save()

    stored = _all_text(_raw_rows("patients_historicalmedicalprofile"))

    assert profile.history.count() == 2
    assert "arachides" not in stored
    assert "Aucune allergie" not in stored
    assert profile.history.earliest().allergies == SECRET_ALLERGY


def test_the_nir_and_the_ald_label_are_encrypted(db):
    patient = PatientFactory(nir=VALID_NIR, birth_date="1995-10-04")
    InsuranceCoverageFactory(patient=patient, ald=True, ald_label="Diabète de type 2")

    with connection.cursor() as cursor:
        cursor.execute("SELECT nir, nir_hash FROM patients_patient")
        nir, nir_hash = cursor.fetchone()
        cursor.execute("SELECT ald_label FROM patients_insurancecoverage")
        (ald_label,) = cursor.fetchone()

    assert is_ciphertext(nir)
    assert VALID_NIR not in nir
    assert len(nir_hash) == 64
    assert VALID_NIR not in nir_hash
    assert is_ciphertext(ald_label)
    assert Patient.objects.get(pk=patient.pk).nir == VALID_NIR


def test_documents_are_encrypted_in_the_storage(patient):
    document = DocumentFactory(patient=patient, content=PDF_BYTES)

    with default_storage.open(document.storage_name, "rb") as handle:
        stored = handle.read()

    assert not stored.startswith(b"%PDF")
    assert b"Catalog" not in stored
    assert stored.startswith(b"gAAAAA")
    assert document.storage_name.startswith(f"patient-documents/{patient.pk}/")
    assert "bilan" not in document.storage_name


def test_encrypted_columns_cannot_be_searched_in_sql(patient):
    MedicalProfileFactory(patient=patient)

    with pytest.raises(FieldError):
        list(MedicalProfile.objects.filter(allergies__icontains="Pénicilline"))
    assert MedicalProfile.objects.filter(allergies__isnull=False).count() == 1


def test_a_value_written_under_an_old_key_stays_readable(patient, settings):
    old_key = settings.FIELD_ENCRYPTION_KEYS[0]
    MedicalProfileFactory(patient=patient, allergies=SECRET_ALLERGY)
    settings.FIELD_ENCRYPTION_KEYS = [Fernet.generate_key().decode(), old_key]

    assert MedicalProfile.objects.get(patient=patient).allergies == SECRET_ALLERGY


def test_without_its_key_a_value_cannot_be_read(patient, settings):
    MedicalProfileFactory(patient=patient)
    settings.FIELD_ENCRYPTION_KEYS = [Fernet.generate_key().decode()]

    with pytest.raises(crypto.DecryptionError):
        MedicalProfile.objects.get(patient=patient)


def test_rotating_keys_keeps_every_field_and_file_readable(patient, settings):
    old_key = settings.FIELD_ENCRYPTION_KEYS[0]
    patient.nir = VALID_NIR
    patient.birth_date = "1995-10-04"
    patient.save()
    profile = MedicalProfileFactory(patient=patient, allergies=SECRET_ALLERGY)
    profile.current_treatments = "Metformine 500 mg"
    profile.save()  # a second history row
    coverage = InsuranceCoverageFactory(
        patient=patient, ald=True, ald_label="Asthme sévère"
    )
    upload = SimpleUploadedFile("ordonnance.pdf", PDF_BYTES, "application/pdf")
    document = services.upload_document(
        patient=patient,
        by=patient.user,
        upload=upload,
        kind=Document.Kind.PRESCRIPTION,
        title="Ordonnance du Dr Martin",
        channel=Channel.PORTAL,
    )
    old_file = document.storage_name
    new_key = Fernet.generate_key().decode()
    settings.FIELD_ENCRYPTION_KEYS = [new_key, old_key]

    call_command("rotate_encryption_keys", stdout=open("/dev/null", "w"))  # noqa: SIM115
    settings.FIELD_ENCRYPTION_KEYS = [new_key]  # the old key is gone

    patient = Patient.objects.get(pk=patient.pk)
    profile = MedicalProfile.objects.get(pk=profile.pk)
    document = Document.objects.get(pk=document.pk)
    assert patient.nir == VALID_NIR
    assert profile.allergies == SECRET_ALLERGY
    assert profile.current_treatments == "Metformine 500 mg"
    assert [h.allergies for h in profile.history.all()] == [SECRET_ALLERGY] * 2
    assert patient.history.first().nir == VALID_NIR
    assert type(coverage).objects.get(pk=coverage.pk).ald_label == "Asthme sévère"
    assert document.title == "Ordonnance du Dr Martin"
    assert services.open_document(document=document, by=patient.user) == PDF_BYTES
    assert document.storage_name != old_file
    assert not default_storage.exists(old_file)
    # The NIR is still found for duplicate detection, under the new key only.
    assert (
        services.find_duplicates(
            last_name="X", first_names="Y", birth_date=None, nir=VALID_NIR
        ).get()
        == patient
    )


def test_rotation_run_twice_changes_nothing_the_second_time(patient, settings):
    old_key = settings.FIELD_ENCRYPTION_KEYS[0]
    MedicalProfileFactory(patient=patient)
    DocumentFactory(patient=patient)
    settings.FIELD_ENCRYPTION_KEYS = [Fernet.generate_key().decode(), old_key]

    first = services.rotate_encryption_keys()
    second = services.rotate_encryption_keys()

    assert first.total_rows >= 2
    assert first.documents == 1
    assert second.total_rows == 0
    assert second.documents == 0


def test_rotation_does_not_touch_updated_at_nor_the_history(patient, settings):
    old_key = settings.FIELD_ENCRYPTION_KEYS[0]
    profile = MedicalProfileFactory(patient=patient)
    before = (profile.updated_at, profile.history.count())
    settings.FIELD_ENCRYPTION_KEYS = [Fernet.generate_key().decode(), old_key]

    services.rotate_encryption_keys()

    profile.refresh_from_db()
    assert (profile.updated_at, profile.history.count()) == before


def test_a_misconfigured_key_is_reported_clearly(settings):
    from django.core.exceptions import ImproperlyConfigured

    settings.FIELD_ENCRYPTION_KEYS = ["not-a-key"]

    with pytest.raises(ImproperlyConfigured, match="not a Fernet key"):
        crypto.encrypt(b"x")


def test_sql_cannot_bypass_the_field_to_read_plain_text(patient):
    MedicalProfileFactory(patient=patient, allergies=SECRET_ALLERGY)

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM patients_medicalprofile WHERE allergies ILIKE %s",
            ["%arachides%"],
        )
        (matches,) = cursor.fetchone()

    assert matches == 0


def test_queries_sent_to_the_database_carry_only_ciphertext(patient):
    """Encryption happens before the query is built: SQL only ever sees tokens."""
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as queries:
        MedicalProfileFactory(patient=patient, allergies=SECRET_ALLERGY)

    assert all("arachides" not in q["sql"] for q in queries.captured_queries)
